import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { identityKeys, projectPath } from '@nunchi/config';
import { decisionIdOf, Subjects, type DecisionRecord, type OfferMessage } from '@nunchi/contracts/core';
import { decodeJson, unsealPersonalData } from '@nunchi/messaging';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { request, runId, seoulTime, startHarness, waitFor, type Harness } from './support/harness.js';

/** The example campaign names Korean categories: 분유 (formula) and any category containing 맥주 (beer). */
const CAMPAIGN = 'bundang-formula-beer-ko';
const STORE = 'bundang-01';
/** '분유' in conjoining jamo (NFD), as some editors and exports write it; NFC is '분유'. */
const BUNYU_NFD = '\u1107\u116e\u11ab\u110b\u1172';

const line = (sku: string, category: string, quantity: number, unitPrice: number, name?: string) => ({
  sku,
  category,
  quantity,
  unitPrice,
  ...(name ? { name } : {}),
});
function koreanBasket(
  id: string,
  card: string,
  occurredAt: string,
  categories = { formula: '분유', beer: '수입 맥주' },
) {
  const items = [
    line('분유-800g', categories.formula, 2, 32_000, '앱솔루트 명작 2단계 800g'),
    line('CASS 500ml × 4', categories.beer, 4, 3_900),
    line('880999', 'Frozen foods', 1, 7_500),
  ];
  const amount = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
  return {
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt,
    customer: { loyaltyCard: card },
    storeId: STORE,
    storeName: '분당점',
    payload: { amount, currency: 'KRW', items },
  };
}

describe('Korean names end to end: a Korean basket through the NATS door meets a campaign naming Korean categories', () => {
  let h: Harness;
  const run = runId();
  const mom = { id: `t${run}-mom`, card: `LC-${run}-1` };
  const dad = { id: `t${run}-dad`, card: `LC-${run}-2` };
  const bad = { id: `t${run}-bad`, card: `LC-${run}-3` };
  const offers: OfferMessage[] = [];

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    writeFileSync(
      join(dir, 'customers.ndjson'),
      [mom, dad, bad]
        .map((c) =>
          JSON.stringify({ id: c.id, age: 31, region: 'Bundang', loyaltyCard: c.card, attributes: {} }),
        )
        .join('\n'),
    );
    assert.equal(
      (await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true })).imported,
      3,
    );
    await applyCampaign(h.resources, projectPath('campaigns', 'examples', `${CAMPAIGN}.yaml`));
    await waitFor('the campaign to load', async () => {
      const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      };
      return body.loaded[CAMPAIGN] ? true : undefined;
    });
    h.nc.subscribe(Subjects.offer('pos', STORE), {
      callback: (_e, m) => {
        const offer = decodeJson(m.data) as OfferMessage;
        if (offer.customerId.startsWith(`t${run}-`)) offers.push(offer);
      },
    });
  });

  after(async () => {
    await h?.close();
  });

  it('offers the diaper coupon for 분유 + 수입 맥주, and the context keys the rollup by the Korean name', async () => {
    const event = koreanBasket(`t${run}-ko1`, mom.card, seoulTime('18:30'));
    const reply = await request(h.nc, Subjects.inbound('pos', 'purchase'), event);
    assert.deepEqual(reply, { ok: true, id: event.id, customerId: mom.id });

    const offer = await waitFor('the offer', () =>
      Promise.resolve(offers.find((o) => o.customerId === mom.id)),
    );
    assert.equal(offer.campaignId, CAMPAIGN);
    assert.equal(offer.offerId, 'diaper-coupon');
    assert.equal(offer.title, '기저귀 20% 할인 쿠폰 (20% off diapers)');
    assert.equal(offer.decisionId, decisionIdOf(event));

    const decision = await waitFor('the decision record', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`);
      return r.ok ? ((await r.json()) as DecisionRecord) : undefined;
    });
    assert.equal(decision.outcome, 'offer');
    assert.deepEqual(decision.inputs?.['event.categories'], ['분유', '수입 맥주', 'Frozen foods']);

    const view = await waitFor('the rollup under 분유', async () => {
      const r = await fetch(`${h.services.urls.context}/v1/customers/${mom.id}/context`);
      if (!r.ok) return undefined;
      const body = (await r.json()) as { ctx: { category: Record<string, { d7: { spend: number } }> } };
      return body.ctx.category['분유'] ? body : undefined;
    });
    assert.equal(view.ctx.category['분유'].d7.spend, 64_000);
    assert.equal(view.ctx.category['수입 맥주'].d7.spend, 15_600);
    assert.equal(view.ctx.category['Frozen foods'].d7.spend, 7_500);
  });

  it('normalises a basket written in decomposed jamo (NFD) to the campaign’s 분유: same offer, one name', async () => {
    const event = koreanBasket(`t${run}-ko2`, dad.card, seoulTime('18:35'), {
      formula: BUNYU_NFD,
      beer: '맥주',
    });
    const reply = await request(h.nc, Subjects.inbound('pos', 'purchase'), event);
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const offer = await waitFor('the offer', () =>
      Promise.resolve(offers.find((o) => o.customerId === dad.id)),
    );
    assert.equal(offer.campaignId, CAMPAIGN);
    const stored = await waitFor('the stored event', async () => {
      const r = await fetch(`${h.services.urls.context}/v1/customers/${dad.id}/context`);
      if (!r.ok) return undefined;
      const body = (await r.json()) as { ctx: { category: Record<string, unknown> } };
      return body.ctx.category['분유'] ? body : undefined;
    });
    assert.equal(stored.ctx.category[BUNYU_NFD], undefined, 'no second, decomposed key');
  });

  it('refuses an over-long category and a control character by path, keeps the event in the DLQ, applies nothing', async () => {
    const jsm = await jetstreamManager(h.nc);
    const before = (await jsm.streams.info('DLQ')).state.last_seq;
    const event = koreanBasket(`t${run}-bad1`, bad.card, seoulTime('18:40'));
    event.payload.items[0].category = '분'.repeat(101);
    event.payload.items[1].category = '맥주\u0007';
    const reply = await request(h.nc, Subjects.inbound('pos', 'purchase'), event);
    assert.equal(reply.ok, false);
    if (reply.ok) return;
    assert.equal(reply.error.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      reply.error.details.map((d) => `${d.path}: ${d.message}`),
      [
        'payload.items[0].category: must be 1-100 characters (got 101)',
        'payload.items[1].category: must be printable text (no control characters, line breaks or lone surrogates)',
      ],
    );
    const kept = await waitFor('the DLQ copy', async () => {
      if ((await jsm.streams.info('DLQ')).state.last_seq <= before) return undefined;
      const m = await jsm.streams.getMessage('DLQ', { last_by_subj: Subjects.dlq('ingestion') });
      const body = m ? (JSON.parse(new TextDecoder().decode(m.data)) as { id?: string }) : undefined;
      return body?.id === event.id ? m!.data : undefined;
    });
    // Kept with the loyalty card sealed (docs/security.md), and exactly the event once opened.
    assert.match(
      (JSON.parse(new TextDecoder().decode(kept)) as { customer: { loyaltyCard: string } }).customer
        .loyaltyCard,
      /^sealed:v1:/,
    );
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(unsealPersonalData(kept, identityKeys(h.config)))),
      event,
    );
    // Nothing half-applied: no decision, no rollup for the customer (the good lines were not taken either).
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      (await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`)).status,
      404,
    );
    const view = (await (
      await fetch(`${h.services.urls.context}/v1/customers/${bad.id}/context`)
    ).json()) as {
      ctx: { all: { d365: { events: number } }; category: Record<string, unknown> };
    };
    assert.equal(view.ctx.all.d365.events, 0);
    assert.deepEqual(view.ctx.category, {});
  });
});
