import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { CampaignReport } from '@nunchi/analytics-model';
import { CustomerKeyRepository, CustomerKeyring } from '@nunchi/cassandra';
import { identityKeys } from '@nunchi/config';
import { summaryOf } from '@nunchi/operations';
import { analyticsPseudonym } from '@nunchi/sealing';
import { decisionIdOf, partitionOf, Subjects, type DecisionRecord } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { accepted } from './support/context-tools.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { purchase, sendAll, waitLoaded } from './support/decision.js';
import { nunchi as runCli, runId, startHarness, waitFor, type Harness } from './support/harness.js';

/** The nunchi tool as an operator runs it (same environment: keyspace, NATS); never throws. */
const nunchi = (...args: string[]) => runCli(args);

/**
 * Analytics state in Cassandra (docs/analytics.md), against the real services: a message delivered twice
 * counts once, a purchase handled before the decision it follows is still its conversion, a restart keeps
 * every figure and resumes where it stopped (no replay), responses are checked against the stored decision
 * and count once, and `nunchi stats` prints the API's figures.
 *
 * Decisions are published on DECISIONS as the decision service publishes them (so their order and
 * redelivery are the test's to choose); events come in through ingestion's door, or straight on EVENTS for
 * an exact redelivery. Analytics runs as its own process so that the test can stop and start it.
 */
describe('analytics state: exact under redelivery, any order and restarts', () => {
  let h: Harness;
  let analytics: RunningServices;
  let js: JetStreamClient;
  const run = runId();
  const env = { NUNCHI_SLA_MS: '30000' };
  const startAnalytics = () =>
    startServices({
      env,
      services: ['analytics'],
      log: (service, line) => h.logs.push(`${service} ${line}`),
    });
  const url = () => analytics.urls.analytics;

  const decision = (
    name: string,
    campaignId: string,
    customerId: string,
    outcome: 'offer' | 'control' | 'late',
    decidedAtMs: number,
  ): DecisionRecord => ({
    decisionId: `d-${run}-${name}`,
    eventId: `e-${run}-${name}`,
    customerId,
    channel: 'pos',
    outcome,
    campaignId,
    campaignVersion: 1,
    ...(outcome === 'late' ? {} : { offerId: 'coupon', title: 'A coupon', value: 2_000 }),
    decidedAt: new Date(decidedAtMs).toISOString(),
    latencyMs: 3,
    traceId: '',
    campaignVersions: { [campaignId]: 1 },
    losses: [],
  });
  let keyring: CustomerKeyring;
  /**
   * The customer's analytics pseudonym (its rows' name), its data key created first if need be — as context
   * creates it on the customer's first event, before any decision or purchase reaches analytics.
   */
  const pseudonymOf = async (customerId: string) =>
    analyticsPseudonym(customerId, await keyring.obtain(customerId));
  const publishDecision = async (d: DecisionRecord) => {
    await pseudonymOf(d.customerId);
    return js.publish(Subjects.decision(d.campaignId!), encodeJson(d));
  };
  /** An event as ingestion stores it on EVENTS (for a delivery the test controls exactly). */
  const publishEvent = async (e: AcceptedEvent) => {
    await pseudonymOf(e.customerId);
    return js.publish(
      Subjects.event(partitionOf(e.customerId, h.config.nats.partitions), e.type),
      encodeJson(e),
    );
  };
  const acceptedPurchase = (id: string, customerId: string, amount: number, atMs: number): AcceptedEvent => ({
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(atMs).toISOString(),
    occurredAtMs: atMs,
    receivedAtMs: atMs,
    customerId,
    storeId: `t${run}-elsewhere`,
    payload: {
      amount,
      currency: 'KRW',
      items: [{ sku: 's', category: 'snacks', quantity: 1, unitPrice: amount }],
    },
  });
  const report = async (campaignId: string): Promise<CampaignReport | undefined> => {
    const r = await fetch(`${url()}/v1/stats/campaigns/${campaignId}`);
    return r.ok ? ((await r.json()) as CampaignReport) : undefined;
  };
  const reportWhen = (
    what: string,
    campaignId: string,
    ready: (r: CampaignReport) => boolean,
    timeoutMs = 30_000,
  ) =>
    waitFor(
      what,
      async () => {
        const r = await report(campaignId);
        return r && ready(r) ? r : undefined;
      },
      timeoutMs,
    );
  const eventsHandled = async () =>
    ((await (await fetch(`${url()}/v1/stats`)).json()) as { events: { total: number } }).events.total;
  const response = (
    id: string,
    customerId: string,
    decisionId: string,
    answer: string,
    campaignId?: string,
  ) => ({
    id,
    type: 'offer_response',
    channel: 'pos',
    occurredAt: new Date().toISOString(),
    customer: { id: customerId },
    payload: { decisionId, response: answer, ...(campaignId ? { campaignId } : {}) },
  });
  const dlqReasons = async (): Promise<string[]> => {
    const body = (await (await fetch(`${url()}/v1/console/dlq?stage=analytics&limit=200`)).json()) as {
      entries: Array<{ reason: string }>;
    };
    return body.entries.map((e) => e.reason);
  };

  before(async () => {
    h = await startHarness(env, { services: ['ingestion', 'context', 'decision'] });
    analytics = await startAnalytics();
    js = jetstream(h.nc);
    keyring = new CustomerKeyring(new CustomerKeyRepository(h.cql), identityKeys(h.config), {
      maxEntries: 1_000,
    });
  });

  after(async () => {
    await analytics?.stop();
    await h?.close();
  });

  const redelivered = `t${run}-redelivered`;
  it('a decision or a purchase delivered twice counts once', async () => {
    const t0 = Date.now() - 60_000;
    const c = (i: number) => `t${run}-r${i}`;
    await publishDecision(decision('r1', redelivered, c(1), 'offer', t0));
    await publishDecision(decision('r1', redelivered, c(1), 'offer', t0)); // the same decision again
    await publishDecision(decision('r2', redelivered, c(2), 'offer', t0));
    await publishDecision(decision('r3', redelivered, c(3), 'control', t0));
    const bought = acceptedPurchase(`t${run}-rp`, c(2), 5_000, t0 + 1_000);
    await publishEvent(bought);
    await publishEvent(bought); // the same purchase again
    // Markers after the copies, of the same customers (each customer's messages are handled in order).
    await publishDecision(decision('r1-marker', redelivered, c(1), 'late', t0));
    await publishDecision(decision('r2-marker', redelivered, c(2), 'late', t0));
    const r = await reportWhen(
      'both markers counted',
      redelivered,
      (x) => x.late === 2 && x.treatment.converted === 1,
    );
    assert.equal(r.decisions, 5);
    assert.equal(r.offers, 2);
    assert.equal(r.control, 1);
    assert.equal(r.treatment.customers, 2);
    assert.equal(r.holdout.customers, 1);
    assert.equal(r.treatment.revenue, 5_000);
    assert.equal(r.revenue, 5_000);
    assert.equal(r.conversions, 1);
    assert.equal(r.valueSent, 4_000);
    assert.equal(r.days.length, 1);
    assert.equal(r.days[0].customersTreated, 2);
    // No row names a customer: each is under the customer's pseudonym (docs/security.md, "Analytics' rows").
    const named = async (id: string) =>
      (
        await h.cql.execute(
          'SELECT decision_id FROM analytics_customer_decisions WHERE customer_id = ?',
          [id],
          {
            prepare: true,
          },
        )
      ).rows.map((row) => row['decision_id'] as string);
    assert.deepEqual(await named(c(2)), []);
    assert.deepEqual(await named(await pseudonymOf(c(2))), [`d-${run}-r2`]);
  });

  const ordered = `t${run}-order`;
  it('a purchase handled before the decision it follows is still its conversion (same figures as in order)', async () => {
    const decidedAtMs = Date.now() - 60_000;
    const store = `t${run}-order-store`;
    const c = (i: number) => `t${run}-o${i}`;
    // In order: decision, then purchase.
    await publishDecision(decision('o1', ordered, c(1), 'offer', decidedAtMs));
    await reportWhen('the first decision', ordered, (x) => x.decisions === 1);
    const before = await eventsHandled();
    await sendAll(h.nc, [
      purchase(`t${run}-op1`, c(1), store, 10_000),
      purchase(`t${run}-op2`, c(2), store, 20_000),
      purchase(`t${run}-op3`, c(3), store, 30_000),
    ]);
    await waitFor('analytics to handle the purchases', async () =>
      (await eventsHandled()) >= before + 3 ? true : undefined,
    );
    // Reversed: the purchases are stored; their decisions (made a minute before them) come only now.
    await publishDecision(decision('o2', ordered, c(2), 'offer', decidedAtMs));
    await publishDecision(decision('o3', ordered, c(3), 'control', decidedAtMs));
    const r = await reportWhen(
      'all three decisions',
      ordered,
      (x) => x.decisions === 3 && x.treatment.converted + x.holdout.converted === 3,
    );
    assert.deepEqual(
      [r.treatment.customers, r.treatment.converted, r.treatment.revenue],
      [2, 2, 30_000],
      JSON.stringify(r.treatment),
    );
    assert.deepEqual([r.holdout.customers, r.holdout.converted, r.holdout.revenue], [1, 1, 30_000]);
    assert.equal(r.conversions, 3);
    assert.equal(r.revenue, 60_000);
    assert.equal(r.lift?.relative, 0); // both groups 100 %
    assert.ok(r.lift?.relativeInterval, 'an interval');
  });

  const responded = `t${run}-responses`;
  let decisionId = '';
  const responder = `t${run}-responder`;
  it('an offer response counts once, however often it comes; one naming an unknown decision goes to the DLQ with the reason', async () => {
    const store = `t${run}-resp-store`;
    const api = async (path: string, body: unknown) => {
      const r = await fetch(`${url()}/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-nunchi-actor': 'analytics-e2e' },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      assert.ok(r.ok, `${path}: ${r.status} ${text}`);
      return JSON.parse(text) as { version: number };
    };
    const source = [
      `id: ${responded}`,
      `name: Responses`,
      `trigger: { types: [purchase], channels: [pos], stores: [${store}] }`,
      `offers:`,
      `  - { id: coupon, title: A coupon, value: 2000 }`,
      `attributionWindowDays: 3`,
      `schedule: { timezone: Asia/Seoul }`,
    ].join('\n');
    await api('/campaigns', { source });
    const activated = await api(`/campaigns/${responded}/activate`, {});
    try {
      await waitLoaded([h.services.urls.decision], responded, activated.version, 30_000);
      const trigger = purchase(`t${run}-trigger`, responder, store, 15_000);
      await sendAll(h.nc, [trigger]);
      decisionId = decisionIdOf(trigger);
      await reportWhen('the offer', responded, (x) => x.offers === 1);

      await sendAll(h.nc, [
        response(`t${run}-resp1`, responder, decisionId, 'redeemed', responded),
        response(`t${run}-resp2`, responder, decisionId, 'redeemed'), // the same response again
      ]);
      // Responses that answer no offer of this customer: ingestion refuses them at the door (UNKNOWN_DECISION);
      // analytics checks again whatever reaches EVENTS another way (published straight to the stream here).
      const forged = [
        response(`t${run}-unknown`, responder, `d-unknown-${run}`, 'accepted'),
        response(`t${run}-not-yours`, `t${run}-someone-else`, decisionId, 'accepted'),
        response(`t${run}-wrong-campaign`, responder, decisionId, 'accepted', `t${run}-other`),
      ];
      for (const e of forged) {
        const answer = decodeJson(
          (await h.nc.request(Subjects.inbound(e.channel, e.type), encodeJson(e), { timeout: 15_000 })).data,
        ) as { ok: boolean; error?: { code: string } };
        assert.deepEqual([answer.ok, answer.error?.code], [false, 'UNKNOWN_DECISION'], e.id);
        await publishEvent(accepted(e, e.customer.id));
      }
      await sendAll(h.nc, [response(`t${run}-resp3`, responder, decisionId, 'dismissed')]); // a marker after them
      const r = await reportWhen('the marker response', responded, (x) => x.responses.dismissed === 1);
      assert.deepEqual(r.responses, { accepted: 0, redeemed: 1, dismissed: 1 });

      const reasons = await waitFor('three analytics DLQ entries', async () => {
        const all = await dlqReasons();
        const mine = all.filter((x) => x.includes(`t${run}-`));
        return mine.length >= 3 ? mine : undefined;
      });
      assert.ok(
        reasons.some(
          (x) =>
            x ===
            `offer_response t${run}-unknown names decision d-unknown-${run}, which is not a stored decision`,
        ),
        reasons.join('\n'),
      );
      assert.ok(
        reasons.some(
          (x) => x.startsWith(`offer_response t${run}-not-yours`) && x.includes('another customer'),
        ),
        reasons.join('\n'),
      );
      assert.ok(
        reasons.some((x) =>
          x.startsWith(`offer_response t${run}-wrong-campaign names campaign t${run}-other`),
        ),
        reasons.join('\n'),
      );
    } finally {
      await fetch(`${url()}/v1/campaigns/${responded}/end`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-nunchi-actor': 'analytics-e2e' },
        body: '{}',
      });
    }
  });

  it('a restart keeps every figure and resumes where it stopped: nothing is replayed', async () => {
    const before = await reportWhen('figures before', redelivered, () => true);
    const orderedBefore = await reportWhen('figures before', ordered, () => true);
    await analytics.stop();
    // While analytics is down: one more decision, and two purchases (one its conversion).
    const t0 = Date.now() - 60_000;
    const c4 = `t${run}-r4`;
    await publishDecision(decision('r4', redelivered, c4, 'offer', t0));
    await sendAll(h.nc, [
      purchase(`t${run}-down1`, c4, `t${run}-down`, 7_000),
      purchase(`t${run}-down2`, `t${run}-r5`, `t${run}-down`, 1_000),
    ]);
    analytics = await startAnalytics();
    const after = await reportWhen(
      'the decision made while down',
      redelivered,
      (x) => x.decisions === before.decisions + 1 && x.treatment.converted === 2,
    );
    assert.equal(after.offers, before.offers + 1);
    assert.equal(after.treatment.revenue, before.treatment.revenue + 7_000);
    assert.deepEqual(
      summaryOf((await report(ordered))!),
      summaryOf(orderedBefore),
      'figures of a campaign untouched while down are unchanged',
    );
    // The EVENTS consumer resumed after its last acknowledged event: only the two new ones were handled.
    await waitFor('the two events of the downtime', async () =>
      (await eventsHandled()) >= 2 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await eventsHandled(), 2);
  });

  it("`nunchi stats` prints the same figures; --json is the API's; an unknown campaign is one line and exit 1", async () => {
    const api = (await report(ordered))!;
    const json = await nunchi('stats', '--campaign', ordered, '--json');
    assert.equal(json.code, 0, json.stderr);
    const cli = JSON.parse(json.stdout) as CampaignReport;
    assert.deepEqual(cli, api);

    const text = await nunchi('stats', '--campaign', ordered);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`campaign ${ordered}`));
    assert.match(text.stdout, /lift, conversion rate: \+0\.0 % \[/);
    assert.match(text.stdout, /by offer\n\s+offer/);

    const all = await nunchi('stats');
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`^${redelivered}\\s+6\\s+3\\s+1\\s+2\\b`, 'm'));

    const unknown = await nunchi('stats', '--campaign', `t${run}-nope`);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr.trim(), `no campaign t${run}-nope (neither stored nor seen in decisions)`);
    const help = await nunchi('stats', '--help');
    assert.match(help.stdout, /--campaign <id>/);
  });
});
