import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { projectPath } from '@nunchi/config';
import { decisionIdOf, Streams, type DecisionRecord } from '@nunchi/contracts/core';
import { isHeldOut } from '@nunchi/rules';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { storedTotals } from './support/context-tools.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import {
  campaignFile,
  campaignRows,
  collectOffers,
  customerRows,
  decisionsOf,
  decisionStream,
  purchase,
  sendAll,
  waitLoaded,
} from './support/decision.js';

const exec = promisify(execFile);
/** The nunchi tool as an operator runs it (same environment: keyspace, NATS). */
const nunchi = (...args: string[]) =>
  exec(process.execPath, [projectPath('dist', 'apps', 'cli', 'src', 'main.js'), ...args], {
    env: process.env,
  });

interface Stats {
  campaigns: Array<{
    campaignId: string;
    decisions: number;
    offers: number;
    control: number;
    holdout: { customers: number };
    treatment: { customers: number };
  }>;
}

/** Control groups, the reasons recorded with every decision, how operators read them, and the dry run. */
describe('decision explanations, control groups, outputs and the campaign dry run', () => {
  let h: Harness;
  const run = runId();
  const created: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-explain-'));

  before(async () => {
    h = await startHarness();
  });

  after(async () => {
    // Leave no active campaign behind in the shared keyspace.
    for (const id of created) await setCampaignState(h.resources, id, 'ended').catch(() => undefined);
    await h?.close();
  });

  async function apply(definition: Parameters<typeof campaignFile>[0]): Promise<void> {
    created.push(definition.id);
    const result = await applyCampaign(h.resources, campaignFile(definition));
    await waitLoaded([h.services.urls.decision], definition.id, result.version);
  }

  const decisionById = async (id: string) =>
    waitFor(`decision ${id}`, async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${id}`);
      return r.ok ? ((await r.json()) as DecisionRecord & { explanation: string[] }) : undefined;
    });

  it('offers go out on mkt.offers.<channel>.<store>, with a record on DECISIONS and one by id', async () => {
    const campaignId = `t${run}-out`;
    const shop = `t${run}-out-s`;
    await apply({
      id: campaignId,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      offers: [{ id: 'cola', title: 'A free cola', value: 1500, cost: 700 }],
    });
    const offers = collectOffers(h.nc, 'pos', shop);
    const event = purchase(`t${run}-out-e`, `t${run}-out-c`, shop);
    await sendAll(h.nc, [event]);
    const [decision] = await decisionsOf(h.cql, [event]);
    assert.equal(decision.outcome, 'offer');

    const offer = await waitFor('the offer', () => Promise.resolve(offers.offers[0]));
    offers.close();
    assert.deepEqual(Object.keys(offer).sort(), [
      'campaignId',
      'campaignVersion',
      'customerId',
      'decidedAt',
      'decisionId',
      'eventId',
      'latencyMs',
      'offerId',
      'title',
      'traceId',
      'value',
    ]);
    assert.deepEqual(
      {
        decisionId: offer.decisionId,
        eventId: offer.eventId,
        customerId: offer.customerId,
        campaignId: offer.campaignId,
        offerId: offer.offerId,
        title: offer.title,
        value: offer.value,
      },
      {
        decisionId: decisionIdOf(event),
        eventId: event.id,
        customerId: `t${run}-out-c`,
        campaignId,
        offerId: 'cola',
        title: 'A free cola',
        value: 1500,
      },
    );
    assert.equal(offer.traceId, decision.traceId);

    const stream = await decisionStream(h.nc, campaignId);
    assert.equal(stream.length, 1);
    assert.equal(stream[0].decisionId, offer.decisionId);
    assert.equal(stream[0].cost, 700);
    assert.deepEqual(await customerRows(h.nc, `t${run}-out-c`), [
      { decisionId: offer.decisionId, outcome: 'offer', campaignId },
    ]);
    assert.deepEqual(
      (await campaignRows(h.nc, campaignId)).map((r) => r.decisionId),
      [offer.decisionId],
    );
  });

  it('a held-out customer gets no offer; the decision is recorded control on DECISIONS and in Cassandra, and analytics counts it', async () => {
    const campaignId = `t${run}-hold`;
    const shop = `t${run}-hold-s`;
    await apply({
      id: campaignId,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      holdoutPercent: 50,
      caps: { perCustomerPerDay: 1 },
    });
    const offers = collectOffers(h.nc, 'pos', shop);
    const customers = Array.from({ length: 24 }, (_, i) => `t${run}-hold-c${i}`);
    const events = customers.map((c, i) => purchase(`t${run}-hold-e${i}`, c, shop));
    await sendAll(h.nc, events);
    const decisions = await decisionsOf(h.cql, events);
    const heldOut = customers.filter((c) => isHeldOut(campaignId, c, 50));
    assert.ok(heldOut.length > 0 && heldOut.length < customers.length, 'the sample has both groups');
    for (const d of decisions)
      assert.equal(d.outcome, isHeldOut(campaignId, d.customerId, 50) ? 'control' : 'offer', d.customerId);

    await new Promise((r) => setTimeout(r, 300));
    offers.close();
    assert.deepEqual(
      offers.offers.map((o) => o.customerId).sort(),
      customers.filter((c) => !heldOut.includes(c)).sort(),
      'offers only to the treatment group',
    );

    const stream = await decisionStream(h.nc, campaignId);
    assert.equal(stream.filter((d) => d.outcome === 'control').length, heldOut.length);
    const rows = await campaignRows(h.nc, campaignId);
    assert.equal(rows.filter((r) => r.outcome === 'control').length, heldOut.length);
    assert.equal((await customerRows(h.nc, heldOut[0]))[0]?.outcome, 'control');
    const control = decisions.find((d) => d.outcome === 'control')!;
    assert.equal(control.campaignId, campaignId, 'a control decision names the campaign it was held out of');

    const stats = await waitFor('analytics to count the control group', async () => {
      const body = (await (await fetch(`${h.services.urls.analytics}/v1/stats`)).json()) as Stats;
      const c = body.campaigns.find((x) => x.campaignId === campaignId);
      return c && c.decisions === customers.length ? c : undefined;
    });
    assert.equal(stats.control, heldOut.length);
    assert.equal(stats.holdout.customers, heldOut.length);
    assert.equal(stats.offers, customers.length - heldOut.length);

    // A second purchase of a held-out customer the same day: the control group is capped like the treatment.
    const second = purchase(`t${run}-hold-again`, heldOut[0], shop);
    await sendAll(h.nc, [second]);
    const [again] = await decisionsOf(h.cql, [second]);
    assert.equal(again.outcome, 'none');
    assert.equal(again.losses.find((l) => l.campaignId === campaignId)?.reason, 'cap');
  });

  it('every decision says why: versions, inputs, the offer and each loser with its reason, by HTTP and by `nunchi decisions explain`', async () => {
    const shop = `t${run}-why-s`;
    const trigger = { types: ['purchase' as const], channels: ['pos'], stores: [shop] };
    const id = (name: string) => `t${run}-why-${name}`;
    await apply({ id: id('spent'), trigger, priority: 90, budget: { maxOffers: 0 } });
    await apply({ id: id('capped'), trigger, priority: 80, caps: { perCustomerPerDay: 1 } });
    await apply({
      id: id('win'),
      trigger,
      priority: 50,
      condition: 'event.amount >= 10000',
      offers: [
        { id: 'big', title: 'Big', value: 5000, when: 'event.amount >= 1000000' },
        { id: 'small', title: 'Small', value: 2000 },
      ],
    });
    await apply({ id: id('lower'), trigger, priority: 10 });
    await apply({
      id: id('old'),
      trigger,
      priority: 99,
      schedule: { from: '2020-01-01', to: '2020-12-31', timezone: 'Asia/Seoul' },
    });
    await apply({ id: id('aud'), trigger, priority: 99, audience: 'customer.age >= 200' });
    const customer = `t${run}-why-c`;
    const first = purchase(`t${run}-why-e1`, customer, shop, 12_000);
    await sendAll(h.nc, [first]);
    assert.equal(
      (await decisionsOf(h.cql, [first]))[0].campaignId,
      id('capped'),
      'the first purchase takes the capped campaign',
    );
    const second = purchase(`t${run}-why-e2`, customer, shop, 12_000);
    await sendAll(h.nc, [second]);

    const d = await decisionById(decisionIdOf(second));
    assert.equal(d.outcome, 'offer');
    assert.equal(d.campaignId, id('win'));
    assert.equal(d.offerId, 'small');
    assert.match(d.traceId, /^[0-9a-f]{32}$/);
    for (const name of ['spent', 'capped', 'win', 'lower', 'old', 'aud'])
      assert.equal(d.campaignVersions[id(name)], 1, `version of ${name}`);
    assert.equal(d.inputs?.['event.amount'], 12_000, 'the inputs the winning rule saw');
    const reasonOf = (name: string, offerId?: string) =>
      d.losses.find((l) => l.campaignId === id(name) && (offerId === undefined || l.offerId === offerId))
        ?.reason;
    assert.equal(reasonOf('spent'), 'budget');
    assert.equal(reasonOf('capped'), 'cap');
    assert.equal(reasonOf('win', 'big'), 'offer_ineligible');
    assert.equal(reasonOf('lower'), 'lower_rank');
    assert.equal(reasonOf('old'), 'outside_schedule');
    assert.equal(reasonOf('aud'), 'audience');
    assert.ok(
      d.explanation.some((l) => l.includes(`OFFER small`)),
      d.explanation.join('\n'),
    );

    const { stdout } = await nunchi('decisions', 'explain', d.decisionId);
    const text = stdout.toString();
    for (const expected of [
      `decision ${d.decisionId}`,
      `trace ${d.traceId}`,
      'outcome: OFFER small',
      `${id('spent')} v1 offer thanks: budget`,
      `${id('capped')} v1: cap`,
      `${id('lower')} v1 offer thanks: lower_rank`,
      `${id('old')} v1: outside_schedule`,
      `${id('aud')} v1: audience`,
    ]) {
      assert.ok(text.includes(expected), `"${expected}" in:\n${text}`);
    }
    await assert.rejects(
      nunchi('decisions', 'explain', 'd-nope'),
      (e: { stderr: string; code: number }) => e.code === 1 && /no decision d-nope/.test(e.stderr),
    );
    assert.equal((await fetch(`${h.services.urls.decision}/v1/decisions/d-nope`)).status, 404);
  });

  it('`nunchi campaigns test` decides one event on the stored profile and context, explains, and sends and writes nothing', async () => {
    const customer = `t${run}-dry-c`;
    const shop = `t${run}-dry-s`;
    writeFileSync(
      join(dir, 'customers.ndjson'),
      JSON.stringify({
        id: customer,
        age: 34,
        gender: 'M',
        region: 'Bundang',
        creditTier: 'B',
        attributes: {},
      }),
    );
    await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true });
    // One earlier purchase on record (through the real pipeline); the tested purchase makes two. No campaign
    // triggers on its store, so it is not a decision: wait for the context service to have stored it.
    const earlier = purchase(`t${run}-dry-e0`, customer, `${shop}-other`);
    await sendAll(h.nc, [earlier]);
    await waitFor('the earlier purchase in the stored context', async () =>
      (await storedTotals(h.cql, customer)).purchases >= 1 ? true : undefined,
    );

    const file = campaignFile({
      id: `t${run}-dry`,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      audience: "customer.region == 'Bundang' && customer.creditTier in ['A', 'B']",
      condition: 'ctx.all.d30.purchases >= 2',
      budget: { maxOffers: 10 },
    });
    const eventFile = join(dir, 'event.json');
    writeFileSync(
      eventFile,
      JSON.stringify({
        ...purchase(`t${run}-dry-e1`, 'ignored', shop),
        customer: { loyaltyCard: 'ignored' },
      }),
    );

    const jsm = await jetstreamManager(h.nc);
    const before = {
      decisions: (await jsm.streams.info(Streams.DECISIONS.name)).state.messages,
      rows: (await customerRows(h.nc, customer)).length,
    };
    const offers = collectOffers(h.nc, 'pos', shop);
    const { stdout } = await nunchi('campaigns', 'test', file, '--event', eventFile, '--customer', customer);
    const text = stdout.toString();
    assert.match(text, new RegExp(`decision: t${run}-dry v1 offers thanks`), text);
    assert.match(
      text,
      /ctx\.all\.d30\.purchases=2/,
      'the tested event counts in the context, as it would live',
    );
    assert.match(text, /customer\.region='Bundang'/);
    assert.match(text, /budget of .*: 0\/10 offers used/);
    assert.match(text, /nothing was sent or written/);

    // Not applied: the campaign is unknown to the service; and nothing went anywhere.
    assert.equal(
      (
        (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
          loaded: Record<string, number>;
        }
      ).loaded[`t${run}-dry`],
      undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    offers.close();
    assert.equal(offers.offers.length, 0);
    assert.equal((await jsm.streams.info(Streams.DECISIONS.name)).state.messages, before.decisions);
    assert.equal((await customerRows(h.nc, customer)).length, before.rows);
    assert.equal(
      (
        await h.cql.execute('SELECT seq FROM customer_contacts WHERE customer_id = ?', [customer], {
          prepare: true,
        })
      ).rowLength,
      0,
    );
    assert.equal(
      (
        await h.cql.execute(
          'SELECT offers_used FROM campaign_budget WHERE campaign_id = ?',
          [`t${run}-dry`],
          { prepare: true },
        )
      ).rowLength,
      0,
    );

    // A customer outside the audience: no offer, and the reason with the values seen.
    writeFileSync(
      join(dir, 'other.ndjson'),
      JSON.stringify({
        id: `${customer}-2`,
        age: 60,
        gender: 'F',
        region: 'Seoul',
        creditTier: 'C',
        attributes: {},
      }),
    );
    await importCustomers(h.resources, join(dir, 'other.ndjson'), { quiet: true });
    const other = (
      await nunchi('campaigns', 'test', file, '--event', eventFile, '--customer', `${customer}-2`)
    ).stdout.toString();
    assert.match(other, /decision: no offer/);
    assert.match(other, /: audience — audience false: customer\.region='Seoul'/);

    // An invalid campaign is refused with every problem by path.
    const bad = campaignFile({ id: `t${run}-bad`, condition: 'event.amount >= ', offers: [] });
    await assert.rejects(
      nunchi('campaigns', 'test', bad, '--event', eventFile, '--customer', customer),
      (e: { stderr: string; code: number }) =>
        e.code === 1 && /condition/.test(e.stderr) && /offers/.test(e.stderr),
    );
  });
});
