import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { runId, startHarness, type Harness } from './support/harness.js';
import {
  campaignFile,
  campaignRows,
  collectOffers,
  decisionsOf,
  decisionStream,
  metricValue,
  purchase,
  sendAll,
  waitLoaded,
} from './support/decision.js';

/**
 * The deadline: a decision that would reach the channel more than NUNCHI_SLA_MS after ingestion received
 * the event sends nothing, is recorded `late`, claims no budget or cap, and is counted in /metrics.
 * NUNCHI_SLA_MS=1 makes every decision late.
 */
describe('deadline: late decisions send nothing, are recorded late and counted', () => {
  let h: Harness;
  const run = runId();
  const campaignId = `t${run}-sla`;
  const shop = `t${run}-sla-s`;

  before(async () => {
    h = await startHarness({ NUNCHI_SLA_MS: '1' });
  });

  after(async () => {
    await setCampaignState(h.resources, campaignId, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('records late, publishes no offer, claims nothing, and /metrics counts nunchi_decisions_total{outcome="late"}', async () => {
    const result = await applyCampaign(
      h.resources,
      campaignFile({
        id: campaignId,
        trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
        caps: { perCustomerPerDay: 1 },
        budget: { maxOffers: 5 },
      }),
    );
    await waitLoaded([h.services.urls.decision], campaignId, result.version);
    const lateBefore = await metricValue(
      h.services.urls.decision,
      'nunchi_decisions_total',
      'outcome="late"',
    );
    const offers = collectOffers(h.nc, 'pos', shop);
    const events = Array.from({ length: 3 }, (_, i) => purchase(`t${run}-sla-e${i}`, `t${run}-sla-c`, shop));
    await sendAll(h.nc, events);
    const decisions = await decisionsOf(h.cql, events);

    for (const d of decisions) {
      assert.equal(d.outcome, 'late');
      assert.equal(d.campaignId, campaignId, 'the record names what would have been offered');
      assert.equal(d.offerId, 'thanks');
      assert.ok(d.latencyMs > 1, `latency ${d.latencyMs} ms is past the 1 ms deadline`);
    }
    await new Promise((r) => setTimeout(r, 300));
    offers.close();
    assert.equal(offers.offers.length, 0, 'no offer published');

    assert.equal(
      (await decisionStream(h.nc, campaignId)).filter((d) => d.outcome === 'late').length,
      3,
      'late records on DECISIONS',
    );
    assert.equal((await campaignRows(h.nc, campaignId)).filter((r) => r.outcome === 'late').length, 3);
    // Nothing was sent, so nothing counts against the caps or the budget: all three were decided, none capped.
    assert.equal(
      (
        await h.cql.execute('SELECT seq FROM customer_contacts WHERE customer_id = ?', [`t${run}-sla-c`], {
          prepare: true,
        })
      ).rowLength,
      0,
    );
    assert.equal(
      (
        await h.cql.execute('SELECT offers_used FROM campaign_budget WHERE campaign_id = ?', [campaignId], {
          prepare: true,
        })
      ).rowLength,
      0,
    );

    const lateAfter = await metricValue(h.services.urls.decision, 'nunchi_decisions_total', 'outcome="late"');
    assert.equal(lateAfter - lateBefore, 3, 'nunchi_decisions_total{outcome="late"}');
    assert.ok(
      (await metricValue(h.services.urls.decision, 'nunchi_event_to_offer_ms_count', 'outcome="late"')) >= 3,
      'the event-to-offer histogram counts late decisions too',
    );
  });
});
