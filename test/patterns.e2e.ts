import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import { decisionIdOf, Subjects, type DecisionRecord, type OfferMessage } from '@nunchi/contracts';
import { decodeJson } from '@nunchi/messaging';
import { isHeldOut } from '@nunchi/rules';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { request, runId, seoulTime, startHarness, waitFor, type Harness } from './support/harness.js';

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
    await waitFor('the campaign in decision', async () => {
      const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      };
      return body.loaded[campaign] ? true : undefined;
    });
    await waitFor(
      'its pattern in context',
      async () => {
        const body = (await (await fetch(`${h.services.urls.context}/v1/context/stats`)).json()) as {
          patternCampaigns?: string[];
        };
        return body.patternCampaigns?.includes(campaign) ? true : undefined;
      },
      15_000,
    );
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
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(early.id)}`);
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
    assert.equal(offer.decisionId, decisionIdOf(completing.id));

    // The match consumed the partial match: another visit right after gets nothing.
    const again = visit(`t${run}-visit-2`, visitAt);
    await request(h.nc, Subjects.inbound('pos', 'visit'), again);
    const second = await waitFor('the third decision', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(again.id)}`);
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
    assert.deepEqual(state.seen.find((s) => s.id === completing.id)?.matched, [campaign]);
  });
});
