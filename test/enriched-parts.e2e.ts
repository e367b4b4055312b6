/**
 * ENRICHED carries the parts of the context the active campaigns read (CampaignSet.contextPartsRead): a campaign
 * that reads the recent events gets them on the events enriched once context has loaded it (on the change
 * hint), and decides on them as before; one reading a category by name gets that entry (and, when no active
 * campaign reads the map whole, only the entries named). That the other parts are left out, and that reading
 * one left out is an error rather than a zero, is tested in libs/rules (context-parts.spec.ts) and
 * libs/context-model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Streams, Subjects } from '@nunchi/contracts/core';
import type { EnrichedMessage } from '@nunchi/contracts';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { campaignFile, decisionsOf, purchase, sendAll, waitCarried, waitLoaded } from './support/decision.js';
import { enrichedOpener } from './support/enriched.js';
import { runId, startHarness, type Harness } from './support/harness.js';
import { lastSeq, readStream } from './support/streams.js';

describe('ENRICHED carries what the active campaigns read', () => {
  let h: Harness;
  const run = runId();
  const store = `t${run}-parts`;
  const campaignId = `reads-recent-${run}`;

  before(async () => {
    h = await startHarness();
  });
  /** A campaign for purchases at `storeId` with this audience, active and loaded by decision. */
  async function activate(id: string, storeId: string, audience: string): Promise<void> {
    const applied = await applyCampaign(
      h.resources,
      campaignFile({
        id,
        condition: `event.storeId == '${storeId}'`,
        audience,
        caps: { perCustomerPerDay: 100 },
      }),
    );
    await waitLoaded([h.services.urls.decision], id, applied.version);
  }

  after(async () => {
    await setCampaignState(h.resources, campaignId, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('a campaign reading ctx.recent gets it on ENRICHED from its activation on, and decides on it', async () => {
    // a returning customer: this purchase and at least one before it
    await activate(campaignId, store, 'ctx.recent.size() >= 2');
    await waitCarried(h.services.urls.context, ['recent']);

    const customerId = `t${run}-c1`;
    const fromSeq = (await lastSeq(h.nc, Streams.ENRICHED.name)) + 1;
    const events = [
      purchase(`t${run}-e1`, customerId, store, 5_000),
      purchase(`t${run}-e2`, customerId, store, 6_000),
    ];
    await sendAll(h.nc, [events[0]]);
    await decisionsOf(h.cql, [events[0]], 30_000);
    await sendAll(h.nc, [events[1]]);
    const [first, second] = await decisionsOf(h.cql, events, 30_000);
    assert.equal(first.outcome, 'none', 'a first purchase: one recent event');
    assert.equal(
      first.losses.find((l) => l.campaignId === campaignId)?.reason,
      'audience',
      JSON.stringify(first.losses),
    );
    assert.equal(second.campaignId, campaignId, JSON.stringify(second.losses));

    const message = (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enrichedAll, fromSeq)).find(
      (m) => m.json<EnrichedMessage>().event.id === events[1].id,
    );
    assert.ok(message, 'the second event was enriched');
    const opened = await enrichedOpener(h.cql, h.config)(message.data);
    assert.equal(opened.ctx.omitted?.includes('recent') ?? false, false, 'recent is carried');
    assert.deepEqual(opened.ctx.recent.map((e) => e.id).sort(), events.map((e) => e.id).sort());
  });

  it('a campaign reading ctx.category.cheese gets the cheese entry; a map read only by names carries just those', async () => {
    const cheeseCampaign = `reads-cheese-${run}`;
    const cheeseStore = `t${run}-cheese`;
    try {
      await activate(cheeseCampaign, cheeseStore, 'ctx.category.cheese.d365.purchases >= 1');
      await waitCarried(h.services.urls.context, ['category'], { category: ['cheese'] });

      const customerId = `t${run}-c2`;
      const fromSeq = (await lastSeq(h.nc, Streams.ENRICHED.name)) + 1;
      const basket = purchase(`t${run}-e3`, customerId, cheeseStore, 30_000);
      basket.payload.items = [
        { sku: 'sku-cheese', category: 'cheese', quantity: 1, unitPrice: 18_000 },
        { sku: 'sku-beer', category: 'beer', quantity: 4, unitPrice: 3_000 },
      ];
      await sendAll(h.nc, [basket]);
      const [decided] = await decisionsOf(h.cql, [basket], 30_000);
      assert.equal(decided.campaignId, cheeseCampaign, JSON.stringify(decided.losses));

      // What the replica carried when it enriched (other tests' active campaigns count too).
      const stats = (await (await fetch(`${h.services.urls.context}/v1/context/stats`)).json()) as {
        enrichedKeysOnly: Record<string, string[]>;
      };
      const message = (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enrichedAll, fromSeq)).find(
        (m) => m.json<EnrichedMessage>().event.id === basket.id,
      );
      assert.ok(message, 'the basket was enriched');
      const opened = await enrichedOpener(h.cql, h.config)(message.data);
      assert.equal(opened.ctx.category['cheese']?.d365.purchases, 1);
      const only = stats.enrichedKeysOnly['category'];
      if (only) {
        assert.ok(
          opened.ctx.carriedKeys?.category?.includes('cheese'),
          JSON.stringify(opened.ctx.carriedKeys),
        );
        for (const name of Object.keys(opened.ctx.category))
          assert.ok(
            opened.ctx.carriedKeys?.category?.includes(name),
            `${name} carried though no campaign names it`,
          );
        assert.equal(
          'beer' in opened.ctx.category,
          only.includes('beer'),
          'beer only if a campaign names it',
        );
      } else assert.equal(opened.ctx.category['beer']?.d365.purchases, 1, 'category carried whole');
    } finally {
      await setCampaignState(h.resources, cheeseCampaign, 'ended').catch(() => undefined);
    }
  });
});
