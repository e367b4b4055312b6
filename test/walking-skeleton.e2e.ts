import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { identityKeys, projectPath } from '@nunchi/config';
import {
  decisionIdOf,
  Headers,
  Subjects,
  type DecisionRecord,
  type OfferMessage,
} from '@nunchi/contracts/core';
import { decodeJson, unsealPersonalData } from '@nunchi/messaging';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import {
  dadsPurchase,
  request,
  dadRunId,
  seoulTime,
  startHarness,
  waitFor,
  type Harness,
} from './support/harness.js';

describe('walking skeleton: till → ingestion → context → decision → offer, traced', () => {
  let h: Harness;
  // The campaign holds 10 % of customers out (control group): draw a run whose father is not one of them,
  // or one run in ten fails for want of an offer.
  const run = dadRunId();
  const store = `t${run}-store`;
  const dad = { id: `t${run}-dad`, card: `LC-${run}-1` };
  const elder = { id: `t${run}-elder`, card: `LC-${run}-2` };

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    writeFileSync(
      join(dir, 'customers.ndjson'),
      [
        {
          id: dad.id,
          age: 34,
          gender: 'M',
          region: 'Bundang',
          creditTier: 'C',
          loyaltyCard: dad.card,
          attributes: {},
        },
        {
          id: elder.id,
          age: 52,
          gender: 'M',
          region: 'Bundang',
          creditTier: 'B',
          loyaltyCard: elder.card,
          attributes: {},
        },
      ]
        .map((c) => JSON.stringify(c))
        .join('\n'),
    );
    const imported = await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true });
    assert.equal(imported.imported, 2);
    await applyCampaign(h.resources, projectPath('campaigns', 'examples', 'bundang-dad-beer.yaml'));
    await waitFor('the campaign to load', async () => {
      const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      };
      return body.loaded['bundang-dad-beer'] ? true : undefined;
    });
  });

  after(async () => {
    await h?.close();
  });

  it('makes the founding offer to the Bundang father, on the store subject, with a decision record', async () => {
    const offers: OfferMessage[] = [];
    const sub = h.nc.subscribe(Subjects.offer('pos', store), {
      callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
    });
    const event = dadsPurchase(`t${run}-e1`, { loyaltyCard: dad.card }, store, seoulTime('19:05'));
    const reply = await request(h.nc, Subjects.inbound('pos', 'purchase'), event);
    assert.deepEqual(reply, { ok: true, id: event.id, customerId: dad.id });

    const offer = await waitFor('the offer', () => Promise.resolve(offers[0]));
    assert.equal(offer.customerId, dad.id);
    assert.equal(offer.campaignId, 'bundang-dad-beer');
    assert.equal(offer.offerId, 'chicken-discount');
    assert.equal(offer.decisionId, decisionIdOf(event));
    assert.ok(offer.latencyMs >= 0 && offer.latencyMs < 2000, `latency ${offer.latencyMs} ms`);
    assert.match(offer.traceId, /^[0-9a-f]{32}$/);

    const row = await waitFor(
      'the decision record',
      async () =>
        (
          await h.cql.execute(
            'SELECT record FROM decisions_by_id WHERE decision_id = ?',
            [decisionIdOf(event)],
            { prepare: true },
          )
        ).first() ?? undefined,
    );
    const stored = JSON.parse(row['record'] as string) as DecisionRecord;
    assert.equal(stored.outcome, 'offer');
    assert.equal(stored.offerId, 'chicken-discount');
    sub.unsubscribe();
  });

  it('one event is one trace holding spans of all four services (asked of Zipkin)', async () => {
    const event = dadsPurchase(`t${run}-e2`, { loyaltyCard: dad.card }, store, seoulTime('19:06'));
    await request(h.nc, Subjects.inbound('pos', 'purchase'), event);
    const decision = await waitFor('the decision', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`);
      return r.ok ? ((await r.json()) as DecisionRecord) : undefined;
    });
    assert.match(decision.traceId, /^[0-9a-f]{32}$/);
    // caps: perCustomerPerDay 1 — the second purchase the same day gets no second offer, and says why
    assert.equal(decision.outcome, 'none');
    assert.ok(
      decision.losses.some((l) => l.campaignId === 'bundang-dad-beer' && l.reason === 'cap'),
      JSON.stringify(decision.losses),
    );

    const expectedSpans = [
      'ingestion.receive',
      'ingestion.validate',
      'ingestion.publish',
      'context.apply',
      'decision.decide',
      'analytics.count',
    ];
    let lastSeen: string[] = [];
    // Each service exports its spans in batches of its own: a trace fills in over a few of them.
    const services = await waitFor(
      'spans of four services in Zipkin',
      async () => {
        const r = await fetch(`http://127.0.0.1:9411/api/v2/trace/${decision.traceId}`);
        if (!r.ok) return undefined;
        const spans = (await r.json()) as Array<{ name: string; localEndpoint: { serviceName: string } }>;
        const names = new Set(spans.map((s) => s.localEndpoint.serviceName));
        lastSeen = spans.map((s) => s.name);
        return names.size >= 4 && expectedSpans.every((n) => lastSeen.includes(n))
          ? { names, spans }
          : undefined;
      },
      20_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; spans seen: ${lastSeen.join(', ')}`);
    });
    assert.deepEqual([...services.names].sort(), [
      'nunchi-analytics',
      'nunchi-context',
      'nunchi-decision',
      'nunchi-ingestion',
    ]);
    const spanNames = new Set(services.spans.map((s) => s.name));
    for (const name of expectedSpans)
      assert.ok(spanNames.has(name), `span ${name} missing: ${[...spanNames].join(', ')}`);
  });

  it('does not offer to a customer outside the audience, and explains why', async () => {
    const event = dadsPurchase(`t${run}-e3`, { loyaltyCard: elder.card }, store, seoulTime('19:07'));
    await request(h.nc, Subjects.inbound('pos', 'purchase'), event);
    const decision = await waitFor('the decision', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`);
      return r.ok ? ((await r.json()) as DecisionRecord & { explanation: string[] }) : undefined;
    });
    assert.equal(decision.outcome, 'none');
    const loss = decision.losses.find((l) => l.campaignId === 'bundang-dad-beer');
    assert.equal(loss?.reason, 'audience');
    assert.match(loss?.detail ?? '', /customer\.age=52/);
    assert.ok(decision.explanation.some((l) => l.includes('audience')));
  });

  it('answers an invalid event with every problem by path and keeps its bytes in the DLQ, the loyalty card sealed', async () => {
    const jsm = await jetstreamManager(h.nc);
    const before = (await jsm.streams.info('DLQ')).state.last_seq;
    const bad = {
      ...dadsPurchase(`t${run}-bad`, { loyaltyCard: dad.card }, store, seoulTime('19:08')),
      payload: { amount: 5, currency: 'WON', items: [] },
    };
    const reply = await request(h.nc, Subjects.inbound('pos', 'purchase'), bad);
    assert.equal(reply.ok, false);
    if (reply.ok) return;
    assert.equal(reply.error.code, 'VALIDATION_FAILED');
    const paths = reply.error.details.map((d) => d.path).sort();
    assert.deepEqual(paths, ['payload.currency', 'payload.items']);

    const stored = await waitFor('the DLQ copy', async () => {
      const info = await jsm.streams.info('DLQ');
      if (info.state.last_seq <= before) return undefined;
      return jsm.streams.getMessage('DLQ', { last_by_subj: Subjects.dlq('ingestion') });
    });
    const kept = new TextDecoder().decode(stored!.data);
    assert.ok(!kept.includes(dad.card), 'the loyalty card is not kept readable');
    const body = JSON.parse(kept) as typeof bad;
    assert.match(body.customer.loyaltyCard ?? '', /^sealed:v1:dev:/);
    assert.deepEqual({ ...body, customer: bad.customer }, bad, 'everything else is kept as sent');
    assert.equal(stored!.header.get(Headers.dlqSealed), 'customer.loyaltyCard');
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(unsealPersonalData(stored!.data, identityKeys(h.config)))),
      bad,
    );
    assert.equal(stored!.header.get(Headers.dlqSubject), Subjects.inbound('pos', 'purchase'));
    assert.match(stored!.header.get(Headers.dlqReason), /payload\.currency/);
  });

  it('answers a body on the wrong subject with SUBJECT_MISMATCH-style details', async () => {
    const event = dadsPurchase(`t${run}-e4`, { loyaltyCard: dad.card }, store, seoulTime('19:09'));
    const reply = await request(h.nc, Subjects.inbound('web', 'purchase'), event);
    assert.equal(reply.ok, false);
    if (!reply.ok)
      assert.deepEqual(
        reply.error.details.map((d) => d.path),
        ['channel'],
      );
  });

  it('counts events, decisions and offers per campaign at GET /v1/stats', async () => {
    const stats = await waitFor('stats with the offer', async () => {
      const body = (await (await fetch(`${h.services.urls.analytics}/v1/stats`)).json()) as {
        events: { total: number };
        campaigns: Array<{ campaignId: string; offers: number; decisions: number }>;
      };
      const c = body.campaigns.find((x) => x.campaignId === 'bundang-dad-beer');
      return c && c.offers >= 1 ? body : undefined;
    });
    assert.ok(stats.events.total >= 3);
  });

  it('every service reports ready with one indicator per dependency', async () => {
    for (const [name, url] of Object.entries(h.services.urls)) {
      const body = (await (await fetch(`${url}/ready`)).json()) as {
        ok: boolean;
        checks: Record<string, { ok: boolean }>;
      };
      assert.equal(body.ok, true, name);
      assert.ok(body.checks['nats']?.ok, `${name} nats`);
      if (name !== 'analytics') assert.ok(body.checks['cassandra']?.ok, `${name} cassandra`);
    }
  });
});
