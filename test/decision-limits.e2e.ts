import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import {
  campaignFile,
  campaignRows,
  collectOffers,
  countBy,
  customerRows,
  decisionsOf,
  decisionStream,
  purchase,
  sendAll,
  startDecisionReplica,
  waitLoaded,
} from './support/decision.js';
import type { RunningServices } from '../tools/services.js';

/**
 * Caps and budgets under concurrency: three decision replicas share the durable consumers, so one
 * customer's events and one campaign's offers are decided by several processes at once.
 */
describe('decision limits with three replicas: budgets and caps are exact under bursts and redelivery', () => {
  let h: Harness;
  const replicas: RunningServices[] = [];
  const run = runId();
  const store = `t${run}-lim`;
  const extraPorts = [
    Number(process.env['NUNCHI_DECISION_PORT'] ?? 3103) + 2,
    Number(process.env['NUNCHI_DECISION_PORT'] ?? 3103) + 3,
  ];
  // A generous deadline: on a loaded 2-core machine a burst must not turn offers into `late`, which
  // would hide what this file tests. The deadline has its own test.
  const env = { NUNCHI_SLA_MS: '600000', NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY: '3' };
  const urls = () => [h.services.urls.decision, ...replicas.map((r) => r.urls.decision)];

  before(async () => {
    h = await startHarness(env);
    for (const port of extraPorts) replicas.push(await startDecisionReplica(port, env, h.logs));
  });

  const created: string[] = [];

  after(async () => {
    // Leave no active campaign behind in the shared keyspace.
    for (const id of created) await setCampaignState(h.resources, id, 'ended').catch(() => undefined);
    await Promise.all(replicas.map((r) => r.stop()));
    await h?.close();
  });

  /**
   * One customer's burst mixed into a crowd of other customers' purchases at the same store: the replicas
   * are busy, so the customer's events queue up on all three and are decided at the same moment.
   */
  function burstInCrowd(
    prefix: string,
    customerId: string,
    shop: string,
    own: number,
    crowd: number,
    channelOf = (_i: number) => 'pos',
  ) {
    const mine = Array.from({ length: own }, (_, i) =>
      purchase(`${prefix}${i}`, customerId, shop, 12_000, channelOf(i)),
    );
    const others = Array.from({ length: crowd }, (_, i) =>
      purchase(`${prefix}x${i}`, `${prefix}x${i}`, shop, 500),
    );
    const step = Math.max(1, Math.floor(crowd / own));
    const all = [...others];
    mine.forEach((e, i) => all.splice(i * (step + 1), 0, e));
    return { mine, all };
  }

  async function apply(definition: Parameters<typeof campaignFile>[0]): Promise<void> {
    created.push(definition.id);
    const result = await applyCampaign(h.resources, campaignFile(definition));
    await waitLoaded(urls(), definition.id, result.version);
  }

  it('a burst of 200 eligible purchases over a budget of 25 makes exactly 25 offers (rows, DECISIONS, offer messages)', async () => {
    const campaignId = `t${run}-budget`;
    const shop = `${store}-b`;
    await apply({
      id: campaignId,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      budget: { maxOffers: 25 },
    });
    const offers = collectOffers(h.nc, 'pos', shop);
    const events = Array.from({ length: 200 }, (_, i) => purchase(`t${run}-b${i}`, `t${run}-bc${i}`, shop));
    await sendAll(h.nc, events, 64);
    const decisions = await decisionsOf(h.cql, events);

    const byOutcome = countBy(decisions, (d) => d.outcome);
    assert.equal(byOutcome['offer'], 25, JSON.stringify(byOutcome));
    const budgetLosses = decisions.filter(
      (d) =>
        d.outcome === 'none' && d.losses.some((l) => l.campaignId === campaignId && l.reason === 'budget'),
    );
    assert.equal(budgetLosses.length, 175, 'every other decision says the budget was exhausted');

    const rows = (await campaignRows(h.nc, campaignId)).filter((r) => r.outcome === 'offer');
    assert.equal(rows.length, 25, 'offer decisions of the campaign');
    assert.equal(new Set(rows.map((r) => r.decisionId)).size, 25);

    const stream = (await decisionStream(h.nc, campaignId)).filter((d) => d.outcome === 'offer');
    assert.equal(stream.length, 25, 'offer records on DECISIONS');
    assert.equal(new Set(stream.map((d) => d.decisionId)).size, 25);

    await waitFor('25 offer messages', () => Promise.resolve(offers.offers.length >= 25 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300)); // a 26th would arrive now
    offers.close();
    assert.equal(offers.offers.length, 25, 'offer messages');
    assert.equal(new Set(offers.offers.map((o) => o.decisionId)).size, 25);

    const budget = (
      await h.cql.execute(
        'SELECT offers_used FROM campaign_budget WHERE campaign_id = ? LIMIT 1',
        [campaignId],
        { prepare: true },
      )
    ).first();
    assert.equal(budget?.['offers_used'], 25);
  });

  it('one customer buying 30 times at once gets exactly perCustomerPerDay offers', async () => {
    const campaignId = `t${run}-capday`;
    const shop = `${store}-d`;
    await apply({
      id: campaignId,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      caps: { perCustomerPerDay: 2 },
    });
    const customerId = `t${run}-capday-c`;
    const { mine, all } = burstInCrowd(`t${run}-d`, customerId, shop, 30, 150);
    await sendAll(h.nc, all, 64);
    const decisions = await decisionsOf(h.cql, mine);
    assert.equal(
      decisions.filter((d) => d.outcome === 'offer').length,
      2,
      JSON.stringify(countBy(decisions, (d) => d.outcome)),
    );
    assert.equal(
      decisions.filter((d) => d.losses.some((l) => l.campaignId === campaignId && l.reason === 'cap')).length,
      28,
    );
    assert.equal((await customerRows(h.nc, customerId)).filter((r) => r.outcome === 'offer').length, 2);
  });

  it('the global contact policy holds across campaigns for one customer under a burst', async () => {
    const shop = `${store}-p`;
    for (const n of [1, 2]) {
      await apply({
        id: `t${run}-policy${n}`,
        trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
        priority: n,
        caps: { perCustomerPerDay: 2 },
      });
    }
    const customerId = `t${run}-policy-c`;
    const { mine, all } = burstInCrowd(`t${run}-p`, customerId, shop, 24, 150);
    await sendAll(h.nc, all, 64);
    const decisions = await decisionsOf(h.cql, mine);
    const offers = decisions.filter((d) => d.outcome === 'offer');
    assert.equal(offers.length, 3, 'NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY=3 across both campaigns');
    assert.deepEqual(
      countBy(offers, (d) => d.campaignId!),
      { [`t${run}-policy2`]: 2, [`t${run}-policy1`]: 1 },
    );
  });

  it('perCustomerLifetime holds over a burst on two channels', async () => {
    const campaignId = `t${run}-life`;
    const shop = `${store}-l`;
    await apply({
      id: campaignId,
      trigger: { types: ['purchase'], stores: [shop] },
      caps: { perCustomerLifetime: 1, perChannelPerDay: 1 },
    });
    const customerId = `t${run}-life-c`;
    const { mine, all } = burstInCrowd(`t${run}-l`, customerId, shop, 20, 150, (i) =>
      i % 2 ? 'pos' : 'kiosk',
    );
    await sendAll(h.nc, all, 64);
    const decisions = await decisionsOf(h.cql, mine);
    assert.equal(
      decisions.filter((d) => d.outcome === 'offer').length,
      1,
      JSON.stringify(countBy(decisions, (d) => d.outcome)),
    );
  });

  it('replicas that hang in a burst and are killed (SIGSTOP, SIGKILL) lose nothing and count nothing twice', async () => {
    const campaignId = `t${run}-kill`;
    const shop = `${store}-k`;
    await apply({
      id: campaignId,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      budget: { maxOffers: 40 },
    });
    const offers = collectOffers(h.nc, 'pos', shop);
    const events = Array.from({ length: 240 }, (_, i) => purchase(`t${run}-k${i}`, `t${run}-kc${i}`, shop));
    // The replicas split the partitions by lease. The two extra ones hang (SIGSTOP) as the burst starts:
    // their partitions' messages wait, and those they had pulled cannot be acknowledged. Then they die
    // (SIGKILL): their leases expire and the survivor takes their partitions over from the ack floor.
    const survivor = h.services.urls.decision;
    const ownedBefore = await waitFor('the partitions to be shared', async () => {
      const owned = await ownedPartitions(survivor);
      return owned < PARTITIONS ? owned : undefined;
    });
    for (const r of replicas) process.kill(r.pids['decision']!, 'SIGSTOP');
    await sendAll(h.nc, events, 64);
    await new Promise((r) => setTimeout(r, 1_000));
    for (const r of replicas) process.kill(r.pids['decision']!, 'SIGKILL');
    // Redelivery waits for the consumer's ack wait (30 s).
    const decisions = await decisionsOf(h.cql, events, 90_000);
    assert.ok(
      ownedBefore < PARTITIONS,
      'the killed replicas owned partitions (else this test proves nothing)',
    );
    assert.equal(await ownedPartitions(survivor), PARTITIONS, 'the survivor took every partition over');

    assert.equal(
      decisions.filter((d) => d.outcome === 'offer').length,
      40,
      JSON.stringify(countBy(decisions, (d) => d.outcome)),
    );
    const rows = (await campaignRows(h.nc, campaignId)).filter((r) => r.outcome === 'offer');
    assert.equal(rows.length, 40, 'offer rows: none twice');
    const stream = (await decisionStream(h.nc, campaignId)).filter((d) => d.outcome === 'offer');
    assert.equal(new Set(stream.map((d) => d.decisionId)).size, 40, 'distinct offer records on DECISIONS');
    assert.equal(stream.length, 40, 'no offer record twice on DECISIONS');
    offers.close();
    // A replica killed between sending an offer and acknowledging it makes the offer go out again with the
    // same decision id (adapters deduplicate on it); never another decision.
    assert.equal(new Set(offers.offers.map((o) => o.decisionId)).size, 40, 'distinct offers sent');
    const budget = (
      await h.cql.execute(
        'SELECT offers_used FROM campaign_budget WHERE campaign_id = ? LIMIT 1',
        [campaignId],
        { prepare: true },
      )
    ).first();
    assert.equal(budget?.['offers_used'], 40);
  });
});

const PARTITIONS = 16;

/** Partitions a decision replica owns, from its readiness detail ("5 of 16 owned, 3 replica(s)"). */
async function ownedPartitions(url: string): Promise<number> {
  const body = (await (await fetch(`${url}/ready`)).json()) as {
    checks: Record<string, { detail?: string }>;
  };
  return Number(/^(\d+) of/.exec(body.checks['partitions']?.detail ?? '')?.[1] ?? -1);
}
