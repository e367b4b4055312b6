import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { compileCampaign } from './compile-campaign.js';
import { parseCampaign } from './parse-campaign.js';
import { campaign } from './testing/fixtures.js';

function problems(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseCampaign(input);
  } catch (e) {
    assert.ok(e instanceof CampaignInvalidError, String(e));
    assert.equal(e.name, 'CampaignInvalidError');
    return e.details;
  }
  assert.fail('expected CampaignInvalidError');
}

const valid = `
id: ok
name: OK
trigger: { types: [purchase] }
schedule: { timezone: Asia/Seoul }
offers: [{ id: a, title: A, value: 1 }]
`;

void describe('parseCampaign', () => {
  void it('an always-on campaign needs no schedule: always, in the default time zone given', () => {
    const always = `
id: always
name: Always
trigger: { types: [purchase] }
offers: [{ id: a, title: A, value: 1 }]
`;
    assert.deepEqual(parseCampaign(always, { timeZone: 'Europe/Paris' }).schedule, {
      timezone: 'Europe/Paris',
    });
    const hours = always + 'schedule: { hours: "10:00-22:00" }\n';
    assert.deepEqual(parseCampaign(hours, { timeZone: 'Asia/Seoul' }).schedule, {
      hours: '10:00-22:00',
      timezone: 'Asia/Seoul',
    });
    // The file's own zone wins over the default.
    assert.equal(parseCampaign(valid, { timeZone: 'Europe/Paris' }).schedule.timezone, 'Asia/Seoul');
    // Without a default, the campaign must say its zone.
    assert.deepEqual(problems(always), [
      { path: 'schedule', message: 'is required when no default time zone (NUNCHI_TIMEZONE) is given' },
    ]);
    assert.deepEqual(
      problems(hours).map((p) => p.path),
      ['schedule.timezone'],
    );
  });

  void it('suggests the field or CEL variable a misspelt one was meant to be, one message per problem', () => {
    const yaml = `
id: typo
name: Typo
audiance: "true"
trigger: { types: [purchase], chanels: [pos] }
condition: "agee > 30 && customer.regoin == 'Seoul'"
offers: [{ id: a, title: A, value: "cheap", propensty: 0.5, when: "ctx.all.d30.spnd > 5" }]
`;
    const got = problems(yaml).map((p) => `${p.path}: ${p.message.split('\n')[0]}`);
    assert.deepEqual(got, [
      'audiance: is not a known field (did you mean audience?)',
      'trigger.chanels: is not a known field (did you mean channels?)',
      'offers[0].propensty: is not a known field (did you mean propensity?)',
      'offers[0].value: must be number',
      'condition: CEL type error at line 1, column 1 (file line 6): Unknown variable: agee (did you mean customer.age?)',
      'offers[0].when: CEL type error at line 1, column 13 (file line 7): No such key: spnd (did you mean ctx.all.d30.spend?)',
      'schedule: is required when no default time zone (NUNCHI_TIMEZONE) is given',
    ]);
    for (const p of problems(yaml))
      assert.ok(!p.message.includes(p.path), `"${p.message}" repeats "${p.path}"`);
    const field = problems(valid.replace('offers:', 'condition: "customer.regoin == \'x\'"\noffers:'));
    assert.match(field[0].message, /No such key: regoin \(did you mean customer\.region\?\)/);
  });

  void it('accepts a minimal campaign, from YAML or from an object', () => {
    const def = parseCampaign(valid);
    assert.equal(def.id, 'ok');
    assert.deepEqual(parseCampaign(def), def);
  });

  void it('lists every problem of an invalid campaign, each by path', () => {
    const yaml = `
id: "bad id"
trigger: { types: [purchase, buy], channels: [] }
audience: "customer.age >= 30 &&"
condition: "event.amount > 'x'"
offers:
  - { id: a, title: A, value: -5, colour: red }
  - { id: a, title: B, value: 10, propensity: 1.5, when: "customer.agee > 3" }
caps: { perCustomerPerDay: 0 }
holdoutPercent: 120
priority: 1.5
state: running
schedule: { from: 2026-12-31, to: 2026-12-01, hours: "25:00-26:00", weekdays: [mon, funday], timezone: Mars/Olympus }
`;
    const got = problems(yaml);
    const paths = got.map((p) => p.path);
    for (const expected of [
      'id',
      'name',
      'trigger.types[1]',
      'trigger.channels',
      'audience',
      'condition',
      'offers[0].value',
      'offers[0].colour',
      'offers[1].id',
      'offers[1].propensity',
      'offers[1].when',
      'caps.perCustomerPerDay',
      'holdoutPercent',
      'priority',
      'state',
      'schedule.to',
      'schedule.hours',
      'schedule.weekdays[1]',
      'schedule.timezone',
    ]) {
      assert.ok(paths.includes(expected), `missing ${expected} in\n${paths.join('\n')}`);
    }
    assert.equal(got.find((p) => p.path === 'name')?.message, 'is required');
    assert.equal(got.find((p) => p.path === 'offers[0].colour')?.message, 'is not a known field');
    assert.match(got.find((p) => p.path === 'offers[1].id')!.message, /duplicate offer id "a"/);
    assert.match(got.find((p) => p.path === 'schedule.to')!.message, /ends \(2026-12-01\) before it starts/);
  });

  void it('points a CEL syntax error at its line and column with a caret', () => {
    const yaml = valid + 'audience: "customer.age >= 30 && && customer.region == \'Seoul\'"\n';
    const [p] = problems(yaml);
    assert.equal(p?.path, 'audience');
    assert.match(p.message, /^CEL syntax error at line 1, column 23 \(file line 7\): /);
    const [, excerpt, caret] = p.message.split('\n');
    assert.equal(excerpt, "  customer.age >= 30 && && customer.region == 'Seoul'");
    assert.equal(caret, `  ${' '.repeat(22)}^`);
    assert.equal(excerpt.slice(2)[caret.length - 3], '&');
  });

  void it('counts lines inside a multi-line expression', () => {
    const yaml = valid + 'condition: |\n  event.amount > 100\n  && ctx.all.d30.spnd > 5\n';
    const [p] = problems(yaml);
    assert.equal(p?.path, 'condition');
    assert.match(p.message, /^CEL type error at line 2, column 16/);
    assert.match(p.message, /No such key: spnd/);
  });

  void it('refuses expressions of the wrong type and unknown variables', () => {
    assert.match(
      problems(valid + 'audience: "customer.age + 1"\n')[0].message,
      /must be a bool expression, but it is double/,
    );
    assert.match(problems(valid + 'audience: "user.age > 1"\n')[0].message, /Unknown variable: user/);
    assert.match(problems(valid + 'audience: "customer.region > 5"\n')[0].message, /no such overload/);
    assert.match(
      problems(valid + 'audience: "customer.age in [30, 35.5]"\n')[0].message,
      /List elements must have the same type/,
    );
  });

  void it('refuses a blank expression', () => {
    assert.deepEqual(problems(valid + 'condition: "   "\n'), [
      { path: 'condition', message: 'is empty (leave the field out to mean "always")' },
    ]);
  });

  void it('reports YAML syntax errors with their position', () => {
    const [p] = problems('id: x\nname: [unclosed\n');
    assert.equal(p?.path, '');
    assert.match(p.message, /^YAML: .*line \d+, column \d+/);
  });

  void it('checks hour windows and dates beyond the pattern', () => {
    const base = campaign({ id: 'h' });
    const a = problems({
      ...base,
      schedule: { timezone: 'Asia/Seoul', hours: '10:00-24:30, 12:00-12:00', from: '2026-02-30' },
    });
    assert.deepEqual(a.map((p) => p.path).sort(), ['schedule.from', 'schedule.hours', 'schedule.hours']);
  });

  void it('accepts Date objects for schedule dates (hand-built objects, YAML 1.1)', () => {
    const def = parseCampaign({
      ...campaign({ id: 'd' }),
      schedule: { timezone: 'UTC', from: new Date('2026-12-01T00:00:00Z') },
    });
    assert.equal(def.schedule.from, '2026-12-01');
  });

  void it('compileCampaign refuses an invalid definition too', () => {
    const bad = campaign({ id: 'c', audience: 'customer.age >=' });
    assert.throws(
      () => compileCampaign(bad, 1),
      (e: unknown) => e instanceof CampaignInvalidError && e.details[0]?.path === 'audience',
    );
  });

  void it('compileCampaign takes the store version, else the file version, else 1', () => {
    assert.equal(compileCampaign(campaign({ id: 'v', version: 4 }), 9).version, 9);
    assert.equal(compileCampaign(campaign({ id: 'v', version: 4 })).version, 4);
    assert.equal(compileCampaign(campaign({ id: 'v' })).version, 1);
  });
});
