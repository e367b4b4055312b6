import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { getMetadataStorage } from 'class-validator';
import {
  CampaignRepository,
  customerStores,
  CustomerRepository,
  DecisionRepository,
  weekOf,
  writeBatched,
  type CqlClient,
} from '@nunchi/cassandra';
import { projectPath } from '@nunchi/config';
import { addDays, localDayRange, localDay } from '@nunchi/context-model';
import { CustomerImportDto, decisionIdOf, type DecisionRecord } from '@nunchi/contracts';
import { Subjects } from '@nunchi/contracts/core';
import { decodeJson } from '@nunchi/messaging';
import { Resources } from '../apps/cli/src/resources.js';
import { campaignFile } from './support/decision.js';
import { runId, waitFor } from './support/harness.js';

const exec = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The nunchi tool as an operator runs it (same environment: keyspace, NATS); never throws. */
const nunchi = async (...args: string[]): Promise<Run> => {
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      [projectPath('dist', 'apps', 'cli', 'src', 'main.js'), ...args],
      {
        env: process.env,
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`nunchi ${args.join(' ')} did not end within 30 s`);
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
};

/** The CLI as a new user meets it: input checked, help with examples, decisions findable, campaigns listed. */
describe('nunchi CLI', () => {
  const run = runId();
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-cli-'));
  let resources: Resources;
  let cql: CqlClient;
  const created: string[] = [];

  before(async () => {
    resources = new Resources();
    cql = await resources.cassandra();
  });

  after(async () => {
    // Leave no active campaign behind in the shared keyspace.
    for (const id of created) await nunchi('campaigns', 'end', id);
    await resources?.close();
  });

  describe('input is checked before anything runs', () => {
    for (const args of [
      ['offers', 'tail', '--limit', 'abc'],
      ['offers', 'tail', '--limit', '0'],
      ['offers', 'tail', '--limit', '2.5'],
      ['dlq', 'list', '--limit', 'ten'],
      ['dlq', 'replay', '--seq', '-1'],
      ['decisions', 'list', '--customer', 'x', '--limit', 'abc'],
    ]) {
      it(`refuses ${args.join(' ')} as a usage error (exit 2), naming the option`, async () => {
        const r = await nunchi(...args);
        assert.equal(r.code, 2, r.stderr);
        const option = args.find((a) => a.startsWith('--') && ['--limit', '--seq'].includes(a))!;
        assert.match(r.stderr, new RegExp(`option '${option} <n>' argument '${args.at(-1)}' is invalid`));
      });
    }

    it('refuses an unknown command, a missing argument and a bad --since as usage errors', async () => {
      assert.equal((await nunchi('campaigns', 'frobnicate')).code, 2);
      assert.equal((await nunchi('decisions', 'explain')).code, 2);
      assert.equal((await nunchi('decisions', 'list')).code, 2);
      const since = await nunchi('decisions', 'list', '--customer', 'x', '--since', 'yesterday');
      assert.equal(since.code, 2);
      assert.match(since.stderr, /--since.*'yesterday' is invalid.*duration \(30m, 12h, 7d, 2w\)/s);
    });
  });

  describe('help', () => {
    const commands = [
      [],
      ['migrate'],
      ['customers'],
      ['customers', 'import'],
      ['customers', 'erase'],
      ['campaigns'],
      ['campaigns', 'apply'],
      ['campaigns', 'list'],
      ['campaigns', 'test'],
      ['campaigns', 'pause'],
      ['campaigns', 'resume'],
      ['campaigns', 'end'],
      ['events'],
      ['events', 'send'],
      ['history'],
      ['history', 'pack'],
      ['offers'],
      ['offers', 'tail'],
      ['decisions'],
      ['decisions', 'explain'],
      ['decisions', 'list'],
      ['dlq'],
      ['dlq', 'list'],
      ['dlq', 'replay'],
      ['slo'],
      ['slo', 'report'],
    ];
    it('every command has examples, and the top level documents the exit codes', async () => {
      // Four at a time: each is a process of its own, and most of its time is Node loading modules.
      for (let i = 0; i < commands.length; i += 4) {
        const batch = commands.slice(i, i + 4);
        const results = await Promise.all(batch.map((command) => nunchi(...command, '--help')));
        results.forEach((r, j) => {
          assert.equal(r.code, 0, batch[j].join(' '));
          assert.match(r.stdout, /\nExamples:\n {2}\$ nunchi /, `nunchi ${batch[j].join(' ')} --help`);
        });
      }
      const top = await nunchi('--help');
      for (const line of ['0  ok', '1  failure', '2  usage error', '3  done, but some input was rejected'])
        assert.ok(top.stdout.includes(line), line);
    });

    it('help and usage errors answer without loading what the commands run (the drivers, Nest, the validators)', async () => {
      // A preload that lists, as the process exits, the CommonJS packages it loaded (the Cassandra driver,
      // class-validator and Nest are CommonJS): each command loads what it runs, when it runs (main.ts).
      const dir = mkdtempSync(join(tmpdir(), 'nunchi-cli-loaded-'));
      const preload = join(dir, 'loaded.cjs');
      writeFileSync(
        preload,
        `process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache).filter((f) => /node_modules/.test(f)).map((f) => f.replace(/.*node_modules\\//, '').split('/')[0]))));`,
      );
      const loaded = async (...args: string[]) => {
        const r = await exec(
          process.execPath,
          ['--require', preload, projectPath('dist', 'apps', 'cli', 'src', 'main.js'), ...args],
          { env: process.env, timeout: 30_000 },
        ).catch((error: { stderr: string }) => error);
        const line = /LOADED (.*)$/m.exec(r.stderr)?.[1];
        assert.ok(line, `the preload's list: ${r.stderr}`);
        return new Set(JSON.parse(line) as string[]);
      };
      for (const args of [
        ['--help'],
        ['campaigns', 'list', '--help'],
        ['offers', 'tail', '--limit', 'abc'],
      ]) {
        const packages = await loaded(...args);
        for (const heavy of ['cassandra-driver', 'class-validator', '@nestjs'])
          assert.ok(!packages.has(heavy), `nunchi ${args.join(' ')} loaded ${heavy}`);
      }
      // and a command that runs does load them (the check above can fail)
      const ran = await loaded('campaigns', 'list', '--state', 'no-such-state');
      assert.ok(ran.has('cassandra-driver'), [...ran].join(' '));
      // but only what it needs: the key store and the audit log are Cassandra alone (no Nest, NATS, validators)
      for (const args of [['keys', 'list'], ['audit']]) {
        const packages = await loaded(...args);
        assert.ok(packages.has('cassandra-driver'), `nunchi ${args.join(' ')}: ${[...packages].join(' ')}`);
        for (const heavy of ['class-validator', '@nestjs', '@nats-io', 'rxjs'])
          assert.ok(!packages.has(heavy), `nunchi ${args.join(' ')} loaded ${heavy}`);
      }
    });

    it('customers import --help lists every field of an import line (CustomerImportDto)', async () => {
      const fields = new Set(
        getMetadataStorage()
          .getTargetValidationMetadatas(CustomerImportDto, '', true, false)
          .map((m) => m.propertyName),
      );
      assert.ok(fields.size >= 11, [...fields].join());
      const help = (await nunchi('customers', 'import', '--help')).stdout;
      for (const field of fields) assert.match(help, new RegExp(`\\n {2}${field} +\\S`), field);
    });
  });

  describe('customers erase', () => {
    it('refuses an unknown id without --force, and leaves no tombstone; --force erases it', async () => {
      const typo = `t${run}-nobody`;
      const refused = await nunchi('customers', 'erase', typo);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`no customer ${typo}.*--force`, 's'));
      const customers = new CustomerRepository(cql);
      assert.equal(await customers.isErased(typo), false, 'no tombstone for a typo');

      const forced = await nunchi('customers', 'erase', typo, '--force', '--json');
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((JSON.parse(forced.stdout) as { customerId: string }).customerId, typo);
      assert.equal(await customers.isErased(typo), true);
      // A repeat of an erasure needs no --force: the id is known (erased).
      assert.equal((await nunchi('customers', 'erase', typo)).code, 0);
    });

    it('erases a known customer without --force', async () => {
      const id = `t${run}-known`;
      const file = join(dir, 'one.ndjson');
      writeFileSync(file, JSON.stringify({ id, age: 40, attributes: {} }));
      assert.equal((await nunchi('customers', 'import', file)).code, 0);
      const r = await nunchi('customers', 'erase', id);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${id}: erased at`));
    });

    it('a rejected import line is exit code 3', async () => {
      const file = join(dir, 'bad.ndjson');
      writeFileSync(file, `${JSON.stringify({ id: `t${run}-ok`, attributes: {} })}\n{"id":"bad id"}\n`);
      const r = await nunchi('customers', 'import', file);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, /imported 1 customers.*1 rejected/s);
    });
  });

  describe('history pack', () => {
    it("packs last week's events of a customer, counts them, and refuses --weeks 0 as a usage error", async () => {
      const { timeZone } = resources.config.domain;
      const lastWeek = addDays(weekOf(localDay(Date.now(), timeZone)), -7);
      const customerId = `t${run}-packed`;
      const atMs = localDayRange(addDays(lastWeek, 2), timeZone).startMs + 12 * 3_600_000;
      const { history, packs } = customerStores(cql, resources.config.domain);
      const event = {
        id: `t${run}-packed-1`,
        type: 'visit' as const,
        channel: 'pos',
        occurredAt: new Date(atMs).toISOString(),
        occurredAtMs: atMs,
        receivedAtMs: atMs,
        customerId,
        storeId: 'bundang-01',
        payload: {},
      };
      assert.deepEqual(
        await writeBatched(cql, [
          history.historyWrites([event], await history.dataKey(customerId), timeZone),
        ]),
        [],
      );
      // Other test files leave customers sealed under an identity key this process lacks: left as they are,
      // said, exit code 3; the others are packed.
      const r = await nunchi('history', 'pack', '--weeks', '1', '--json');
      assert.ok(r.code === 0 || r.code === 3, r.stderr);
      const unreadable = (JSON.parse(r.stdout) as { unreadable: { customers: number } }).unreadable.customers;
      assert.equal(r.code, unreadable > 0 ? 3 : 0, r.stderr);
      if (unreadable > 0)
        assert.match(r.stderr, /customers left as they are: their history does not open here/);
      const result = JSON.parse(r.stdout) as {
        fromWeek: string;
        toWeek: string;
        packed: number;
        current: number;
      };
      assert.equal(result.fromWeek, lastWeek);
      assert.equal(result.toWeek, lastWeek);
      assert.ok(result.packed >= 1, r.stdout);
      const plan = (await packs.planPeriod([customerId], lastWeek, addDays(lastWeek, 6))).get(customerId)!;
      assert.deepEqual([...plan.packedWeeks], [lastWeek]);
      assert.equal(plan.rowsFrom, undefined);
      // again: the pack is current; the text form says so
      const again = await nunchi('history', 'pack', '--weeks', '1');
      assert.equal(again.code, r.code, again.stderr);
      assert.match(
        again.stdout,
        new RegExp(
          `^weeks ${lastWeek} to ${lastWeek}, \\d+ customers: \\d+ weeks packed .* [1-9]\\d* current already`,
        ),
      );
      const zero = await nunchi('history', 'pack', '--weeks', '0');
      assert.equal(zero.code, 2, zero.stderr);
      assert.match(zero.stderr, /option '--weeks <n>' argument '0' is invalid/);
    });
  });

  describe('streams replay', () => {
    it("asks every process consuming the stream over NATS, in the caller's name, and audits it; refuses a stream no service consumes", async () => {
      const { nc } = await resources.messaging();
      const hints: { foundBy?: string; requestedBy?: string }[] = [];
      const sub = nc.subscribe(Subjects.streamRewound('EVENTS'), {
        callback: (_error, msg) => {
          hints.push(decodeJson(msg.data) as (typeof hints)[number]);
        },
      });
      try {
        await nc.flush();
        const r = await nunchi('streams', 'replay', 'events');
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /asked every process consuming EVENTS to replay it by store time/);
        await waitFor('the hint', () => Promise.resolve(hints.length > 0 ? true : undefined), 5_000);
        assert.equal(hints.length, 1);
        assert.match(hints[0].requestedBy ?? '', /\(cli .+@.+\)$/, 'who asked, and from where');
      } finally {
        sub.unsubscribe();
      }
      const audit = await nunchi('audit', '--json');
      assert.ok(
        audit.stdout
          .split('\n')
          .some((line) => line.includes('"dlq.replay nunchi streams replay"') && line.includes('"EVENTS"')),
        audit.stdout.slice(-2_000),
      );

      const refused = await nunchi('streams', 'replay', 'LEASES');
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /cannot replay LEASES: give one of EVENTS, ENRICHED, DECISIONS/);
    });
  });

  describe('decisions', () => {
    const customer = `t${run}-dc`;
    const campaign = `t${run}-dcamp`;
    const nowMs = Date.now();
    const record = (eventId: string, agoMs: number, rest: Partial<DecisionRecord>): DecisionRecord => ({
      decisionId: decisionIdOf({ channel: 'pos', id: eventId }),
      eventId,
      customerId: customer,
      channel: 'pos',
      storeId: 'bundang-01',
      outcome: 'none',
      decidedAt: new Date(nowMs - agoMs).toISOString(),
      latencyMs: 12,
      traceId: '',
      campaignVersions: { [campaign]: 3 },
      losses: [],
      ...rest,
    });
    const offer = record(`t${run}-e-offer`, 60_000, {
      outcome: 'offer',
      campaignId: campaign,
      campaignVersion: 3,
      offerId: 'beer',
      title: 'Beer',
      value: 4000,
      cost: 3000,
    });
    const control = record(`t${run}-e-control`, 30_000, {
      outcome: 'control',
      campaignId: campaign,
      campaignVersion: 3,
      offerId: 'beer',
    });
    const old = record(`t${run}-e-old`, 3 * 86_400_000, {
      outcome: 'offer',
      campaignId: campaign,
      campaignVersion: 2,
      offerId: 'wine',
      value: 5000,
      cost: 5000,
    });
    const none = record(`t${run}-e-none`, 10_000, {
      losses: [
        {
          campaignId: campaign,
          campaignVersion: 3,
          reason: 'audience',
          detail: 'audience false: customer.age=20',
        },
      ],
    });

    before(async () => {
      // Stored exactly as the decision service stores them (rows per customer and per campaign and day, then by id).
      const repo = new DecisionRepository(cql);
      for (const d of [offer, control, old, none]) {
        await repo.record(d, localDay(Date.parse(d.decidedAt), resources.config.domain.timeZone));
      }
    });

    it('explain --event finds a decision without an offer (outcome none) from its channel and event id', async () => {
      const r = await nunchi('decisions', 'explain', '--event', none.eventId, '--channel', 'pos');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`decision ${none.decisionId} for event ${none.eventId}`));
      assert.match(r.stdout, /outcome: no offer/);
      assert.match(r.stdout, new RegExp(`${campaign} v3: audience — audience false: customer.age=20`));
      const control_ = await nunchi('decisions', 'explain', '--event', control.eventId, '--channel', 'pos');
      assert.match(control_.stdout, /outcome: CONTROL/);
      const byId = await nunchi('decisions', 'explain', offer.decisionId);
      assert.match(byId.stdout, /outcome: OFFER beer "Beer"/);
    });

    it('explain of an unknown event or id fails (exit 1) saying what it looked for', async () => {
      const r = await nunchi('decisions', 'explain', '--event', `t${run}-never`, '--channel', 'pos');
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `no decision for event t${run}-never of channel pos \\(decision id ${decisionIdOf({ channel: 'pos', id: `t${run}-never` })}\\)`,
        ),
      );
      const noChannel = await nunchi('decisions', 'explain', '--event', `t${run}-never`);
      assert.equal(noChannel.code, 2, 'a usage error');
      assert.match(noChannel.stderr, /--event and --channel go together: event ids are scoped per channel/);
      const eventAsId = await nunchi('decisions', 'explain', `t${run}-never`);
      assert.equal(eventAsId.code, 1);
      assert.match(eventAsId.stderr, /for an event id use --event/);
      assert.equal((await nunchi('decisions', 'explain', 'x', '--event', 'y')).code, 2, 'not both');
    });

    it("list --customer: the customer's decisions with a campaign, newest first, with a header row", async () => {
      const r = await nunchi('decisions', 'list', '--customer', customer);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^DECIDED AT +DECISION +OUTCOME +CAMPAIGN +OFFER +VALUE +CHANNEL +EVENT$/);
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(/ +/).slice(1, 3)),
        [
          [control.decisionId, 'control'],
          [offer.decisionId, 'offer'],
          [old.decisionId, 'offer'],
        ],
      );
      assert.match(lines[2], new RegExp(`${campaign} v3 +beer +4000 +pos@bundang-01 +${offer.eventId}$`));
    });

    it('list --since and --limit bound the listing; --json prints one object per line', async () => {
      const recent = await nunchi('decisions', 'list', '--customer', customer, '--since', '1d', '--json');
      const objects = recent.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { decisionId: string; eventId: string });
      assert.deepEqual(
        objects.map((o) => o.decisionId),
        [control.decisionId, offer.decisionId],
      );
      assert.equal(objects[1].eventId, offer.eventId);
      const one = await nunchi('decisions', 'list', '--customer', customer, '--limit', '1');
      assert.equal(one.stdout.trim().split('\n').length, 2, 'header and one row');
      const future = await nunchi(
        'decisions',
        'list',
        '--customer',
        customer,
        '--since',
        new Date(nowMs + 3_600_000).toISOString(),
      );
      assert.match(future.stdout, /^no decisions since/);
    });

    it("list --campaign: the campaign's decisions across its days, newest first", async () => {
      const r = await nunchi('decisions', 'list', '--campaign', campaign, '--since', '7d');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^DECIDED AT +DECISION +OUTCOME +CUSTOMER +OFFER +VALUE$/);
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(/ +/)[1]),
        [control.decisionId, offer.decisionId, old.decisionId],
      );
      const today = await nunchi(
        'decisions',
        'list',
        '--campaign',
        campaign,
        '--since',
        '1h',
        '--limit',
        '1',
      );
      assert.deepEqual(
        today.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(/ +/)[1]),
        [control.decisionId],
      );
    });
  });

  describe('campaigns', () => {
    const id = (name: string) => `t${run}-${name}`;
    const apply = async (definition: Parameters<typeof campaignFile>[0]) => {
      if (!created.includes(definition.id)) created.push(definition.id);
      return nunchi('campaigns', 'apply', campaignFile(definition));
    };
    const listed = async (...args: string[]) => {
      const r = await nunchi('campaigns', 'list', ...args);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      return {
        header: lines[0],
        rows: lines.filter((l) => l.startsWith(`t${run}-`)).map((l) => l.split(/ {2,}/)),
      };
    };

    it('list: a header row, names, state and budget used; --state filters; ended only with --all', async () => {
      assert.equal(
        (await apply({ id: id('live'), name: 'Live one', budget: { maxOffers: 5, maxCost: 9000 } })).code,
        0,
      );
      assert.equal((await apply({ id: id('held'), name: 'Held one', state: 'paused' })).code, 0);
      assert.equal((await apply({ id: id('gone'), name: 'Gone one' })).code, 0);
      assert.equal((await nunchi('campaigns', 'end', id('gone'))).code, 0);

      const { header, rows } = await listed();
      assert.match(header, /^ID +NAME +STATE +VERSION +OFFERS +COST +APPLIED$/);
      assert.deepEqual(
        rows.map((r) => r.slice(0, 6)),
        [
          [id('held'), 'Held one', 'paused', 'v1', '0', '0'],
          [id('live'), 'Live one', 'active', 'v1', '0/5', '0/9000'],
        ],
      );
      assert.deepEqual(
        (await listed('--state', 'paused')).rows.map((r) => r[0]),
        [id('held')],
      );
      assert.deepEqual(
        (await listed('--state', 'ended')).rows.map((r) => r[0]),
        [id('gone')],
      );
      assert.deepEqual(
        (await listed('--all')).rows.map((r) => r[0]),
        [id('gone'), id('held'), id('live')],
      );
      const bad = await nunchi('campaigns', 'list', '--state', 'sleeping');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--state must be one of active, paused, ended/);
    });

    it('an always-on campaign needs no schedule: stored with the business time zone (NUNCHI_TIMEZONE)', async () => {
      const always = id('always');
      created.push(always);
      const file = join(dir, 'always.yaml');
      writeFileSync(
        file,
        `id: ${always}\nname: Always\ntrigger: { types: [purchase] }\noffers: [{ id: a, title: A, value: 1 }]\n`,
      );
      const r = await nunchi('campaigns', 'apply', file);
      assert.equal(r.code, 0, r.stderr);
      const stored = await new CampaignRepository(cql).latest(always);
      assert.deepEqual((JSON.parse(stored!.definition) as { schedule: unknown }).schedule, {
        timezone: resources.config.domain.timeZone,
      });
      // A misspelt field is refused with a suggestion, as `path: message`.
      writeFileSync(
        file,
        `id: ${always}\nname: Always\naudiance: "true"\ntrigger: { types: [purchase] }\noffers: [{ id: a, title: A, value: 1 }]\n`,
      );
      const typo = await nunchi('campaigns', 'apply', file);
      assert.equal(typo.code, 1);
      assert.match(typo.stderr, /\n {2}audiance: is not a known field \(did you mean audience\?\)/);
    });

    it('apply keeps a paused campaign paused unless the file sets a state', async () => {
      const held = id('held2');
      assert.equal((await apply({ id: held })).code, 0);
      assert.equal((await nunchi('campaigns', 'pause', held)).code, 0);
      const again = await apply({ id: held, name: 'renamed' });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /applied as version 3 \(paused\)/);
      assert.deepEqual(
        (await listed('--state', 'paused')).rows.filter((r) => r[0] === held).map((r) => r[1]),
        ['renamed'],
      );
      const resumed = await apply({ id: held, name: 'renamed', state: 'active' });
      assert.match(resumed.stdout, /applied as version 4 \(active\)/);
    });

    it('end is final: resume, pause and an apply that sets another state are refused with a clear message', async () => {
      const gone = id('gone2');
      assert.equal((await apply({ id: gone })).code, 0);
      assert.equal((await nunchi('campaigns', 'end', gone)).code, 0);
      const resume = await nunchi('campaigns', 'resume', gone);
      assert.equal(resume.code, 1);
      assert.match(
        resume.stderr,
        new RegExp(`${gone} has ended and cannot be resumed: ending a campaign is final`),
      );
      assert.equal((await nunchi('campaigns', 'pause', gone)).code, 1);
      const reapply = await apply({ id: gone, state: 'active' });
      assert.equal(reapply.code, 1);
      assert.match(reapply.stderr, /ending a campaign is final/);
      // A file without `state` keeps the stored one: the campaign stays ended.
      const keep = await apply({ id: gone, name: 'fixed typo' });
      assert.equal(keep.code, 0, keep.stderr);
      assert.match(keep.stdout, /\(ended\)/);
      assert.match((await nunchi('campaigns', 'end', gone)).stdout, /already ended/);
      assert.deepEqual((await listed('--state', 'ended')).rows.filter((r) => r[0] === gone).length, 1);
    });
  });
});
