import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import {
  decisionIdOf,
  eventKey,
  Subjects,
  type DecisionRecord,
  type OfferMessage,
} from '@nunchi/contracts/core';
import { decodeJson } from '@nunchi/messaging';
import { isHeldOut } from '@nunchi/rules';
import { applyCampaign, setCampaignState, testCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { request, runId, seoulTime, startHarness, waitFor, type Harness } from './support/harness.js';

/** Waits until decision has the campaign and context folds its pattern (context polls campaigns every 5 s). */
async function loaded(h: Harness, campaign: string): Promise<void> {
  await waitFor('the campaign in decision', async () => {
    const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
      loaded: Record<string, number>;
    };
    return body.loaded[campaign] ? true : undefined;
  });
  const stats = `${h.services.urls.context}/v1/context/stats`;
  await waitFor(
    'its pattern in context',
    async () =>
      ((await (await fetch(stats)).json()) as { patternCampaigns?: string[] }).patternCampaigns?.includes(
        campaign,
      ) || undefined,
    15_000,
  );
}

/** ISO-8601 with +09:00, `minutes` before a Seoul instant given as ISO-8601 with +09:00. */
function minutesBefore(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) - minutes * 60_000 + 9 * 3_600_000)
    .toISOString()
    .replace('Z', '+09:00')
    .replace('.000', '');
}

describe('event patterns live: app view, then a store visit within 2 h (docs/patterns.md)', () => {
  let h: Harness;
  const example = 'formula-view-then-store-visit';
  let run = runId();
  // The example under an id of this run's own: ended afterwards, so other tests sharing the keyspace see no pattern.
  while (isHeldOut(`${example}-t${run}`, `t${run}-mum`, 10)) run = runId();
  const campaign = `${example}-t${run}`;
  const mum = { id: `t${run}-mum`, card: `LC-${run}-9` };
  const store = `t${run}-store`;

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    writeFileSync(
      join(dir, 'customers.ndjson'),
      JSON.stringify({
        id: mum.id,
        age: 33,
        gender: 'F',
        region: 'Bundang',
        loyaltyCard: mum.card,
        marketingConsent: true,
        attributes: {},
      }),
    );
    assert.equal(
      (await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true })).imported,
      1,
    );
    const source = readFileSync(projectPath('campaigns', 'examples', `${example}.yaml`), 'utf8');
    writeFileSync(join(dir, `${campaign}.yaml`), source.replace(`id: ${example}`, `id: ${campaign}`));
    await applyCampaign(h.resources, join(dir, `${campaign}.yaml`));
    await loaded(h, campaign);
  });

  after(async () => {
    if (h) await setCampaignState(h.resources, campaign, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('a visit with no view before it loses with `pattern`; after an app view of formula it gets the sample', async () => {
    const offers: OfferMessage[] = [];
    const sub = h.nc.subscribe(Subjects.offer('pos', store), {
      callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
    });
    const visitAt = seoulTime('12:30');
    const visit = (id: string, occurredAt: string) => ({
      id,
      type: 'visit',
      channel: 'pos',
      occurredAt,
      customer: { loyaltyCard: mum.card },
      storeId: store,
      payload: {},
    });

    const early = visit(`t${run}-visit-0`, minutesBefore(visitAt, 60));
    // every event in the past, in order: 11:30 visit, 12:00 view, 12:20 visit (match), 12:30 visit
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'visit'), early), {
      ok: true,
      id: early.id,
      customerId: mum.id,
    });
    const lost = await waitFor('the first decision', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(early)}`);
      return r.ok ? ((await r.json()) as DecisionRecord) : undefined;
    });
    assert.equal(lost.outcome, 'none');
    assert.deepEqual(
      lost.losses.filter((l) => l.campaignId === campaign).map((l) => l.reason),
      ['pattern'],
    );

    const view = {
      id: `t${run}-view`,
      type: 'product_view',
      channel: 'app',
      occurredAt: minutesBefore(visitAt, 30),
      customer: { loyaltyCard: mum.card },
      payload: { sku: '880123', category: 'infant_formula', price: 32000 },
    };
    assert.equal(
      ((await request(h.nc, Subjects.inbound('app', 'product_view'), view)) as { ok: boolean }).ok,
      true,
    );
    const completing = visit(`t${run}-visit-1`, minutesBefore(visitAt, 10));
    await request(h.nc, Subjects.inbound('pos', 'visit'), completing);
    const offer = await waitFor('the offer', () => Promise.resolve(offers[0]));
    assert.equal(offer.campaignId, campaign);
    assert.equal(offer.offerId, 'formula-sample');
    assert.equal(offer.decisionId, decisionIdOf(completing));

    // The match consumed the partial match: another visit right after gets nothing.
    const again = visit(`t${run}-visit-2`, visitAt);
    await request(h.nc, Subjects.inbound('pos', 'visit'), again);
    const second = await waitFor('the third decision', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(again)}`);
      return r.ok ? ((await r.json()) as DecisionRecord) : undefined;
    });
    assert.deepEqual(
      second.losses.filter((l) => l.campaignId === campaign).map((l) => l.reason),
      ['pattern'],
    );
    assert.equal(offers.length, 1);
    sub.unsubscribe();

    // The state is stored with the customer (one row), for a replica that takes the partition over.
    const row = (
      await h.cql.execute('SELECT state FROM customer_patterns WHERE customer_id = ?', [mum.id], {
        prepare: true,
      })
    ).first();
    const state = JSON.parse(row?.['state'] as string) as { seen: { id: string; matched: string[] }[] };
    // Seen events are named by their key (channel and id).
    assert.deepEqual(state.seen.find((s) => s.id === eventKey(completing))?.matched, [campaign]);
  });

  it('the dry run (campaigns test) folds the stored events of the pattern window: the same answer as live', async () => {
    const visitAt = seoulTime('12:30');
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    const dryRun = async (occurredAt: string) => {
      const file = join(dir, `${occurredAt.slice(11, 16).replace(':', '')}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          id: `t${run}-dry-${occurredAt.slice(11, 16)}`,
          type: 'visit',
          channel: 'pos',
          occurredAt,
          storeId: store,
          payload: {},
        }),
      );
      const report = await testCampaign(
        h.resources,
        projectPath('campaigns', 'examples', `${example}.yaml`),
        { eventFile: file, customerId: mum.id },
      );
      return report.evaluation;
    };
    // between the app view (12:00) and the visit that completed it (12:20): this visit would complete it
    const between = await dryRun(minutesBefore(visitAt, 20));
    assert.deepEqual(
      between.candidates.map((c) => c.campaignId),
      [example],
    );
    // at 12:25, after the 12:20 match consumed the view: nothing to complete
    const afterwards = await dryRun(minutesBefore(visitAt, 5));
    assert.deepEqual(
      afterwards.losses.filter((l) => l.campaignId === example).map((l) => l.reason),
      ['pattern'],
    );
  });
});

describe('event patterns live: a cart without a purchase — a durable timer fires once (docs/patterns.md)', () => {
  let h: Harness;
  const run = runId();
  const campaign = `cart-abandoned-t${run}`;
  const quiet = { id: `t${run}-quiet`, card: `LC-${run}-7` };
  const buyer = { id: `t${run}-buyer`, card: `LC-${run}-8` };
  const WITHIN_S = 3;

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    writeFileSync(
      join(dir, 'customers.ndjson'),
      [quiet, buyer]
        .map((c) => JSON.stringify({ id: c.id, loyaltyCard: c.card, marketingConsent: true, attributes: {} }))
        .join('\n'),
    );
    assert.equal(
      (await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true })).imported,
      2,
    );
    const source = readFileSync(projectPath('campaigns', 'examples', 'cart-abandoned-1h.yaml'), 'utf8');
    writeFileSync(
      join(dir, `${campaign}.yaml`),
      source
        .replace('id: cart-abandoned-1h', `id: ${campaign}`)
        .replace('within: 1h', `within: ${WITHIN_S}s`),
    );
    await applyCampaign(h.resources, join(dir, `${campaign}.yaml`));
    await loaded(h, campaign);
  });

  after(async () => {
    if (h) await setCampaignState(h.resources, campaign, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('fires within a second or so of its time, once, with its reason; a purchase in time cancels it', async () => {
    const offers: OfferMessage[] = [];
    const sub = h.nc.subscribe('mkt.offers.system.>', {
      callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
    });
    const cart = (id: string, customer: { card: string }) => ({
      id,
      type: 'cart',
      channel: 'web',
      occurredAt: new Date().toISOString(),
      customer: { loyaltyCard: customer.card },
      payload: { action: 'add', sku: '880123', category: 'infant_formula', quantity: 1, unitPrice: 32000 },
    });
    const quietCart = cart(`t${run}-cart-q`, quiet);
    const dueMs = Date.parse(quietCart.occurredAt) + WITHIN_S * 1000;
    assert.equal(
      ((await request(h.nc, Subjects.inbound('web', 'cart'), quietCart)) as { ok: boolean }).ok,
      true,
    );
    const buyerCart = cart(`t${run}-cart-b`, buyer);
    await request(h.nc, Subjects.inbound('web', 'cart'), buyerCart);
    const purchase = {
      id: `t${run}-buy-b`,
      type: 'purchase',
      channel: 'web',
      occurredAt: new Date().toISOString(),
      customer: { loyaltyCard: buyer.card },
      payload: {
        amount: 32000,
        currency: 'KRW',
        items: [{ sku: '880123', category: 'infant_formula', quantity: 1, unitPrice: 32000 }],
      },
    };
    assert.equal(
      ((await request(h.nc, Subjects.inbound('web', 'purchase'), purchase)) as { ok: boolean }).ok,
      true,
    );

    const offer = await waitFor('the absence offer', () => Promise.resolve(offers[0]));
    const lateMs = Date.now() - dueMs;
    assert.equal(offer.customerId, quiet.id);
    assert.equal(offer.campaignId, campaign);
    assert.equal(offer.offerId, 'free-delivery');
    assert.ok(lateMs < 3_000, `offer ${lateMs} ms after the timer's time`);
    const record = await waitFor('its decision record', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${offer.decisionId}`);
      return r.ok ? ((await r.json()) as DecisionRecord) : undefined;
    });
    assert.equal(record.outcome, 'offer');
    assert.match(record.traceId, /^[0-9a-f]{32}$/);
    // its reason travels with the synthetic event
    const row = (
      await h.cql.execute('SELECT state FROM customer_patterns WHERE customer_id = ?', [quiet.id], {
        prepare: true,
      })
    ).first();
    const state = JSON.parse(row?.['state'] as string) as { slots: Record<string, unknown> };
    assert.deepEqual(state.slots, {}, 'the fired timer left the state');

    // Exactly once, and nothing for the customer who bought in time.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual(
      offers.map((o) => o.customerId),
      [quiet.id],
    );
    sub.unsubscribe();
  });
});
