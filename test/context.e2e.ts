/**
 * The customer context under real conditions, through the running services only (NATS, HTTP) and checked
 * against what Cassandra holds: duplicates, late and out-of-order events, profile updates, the two ways to
 * read a context, the hot tier, and erasure.
 */
import assert from 'node:assert/strict';
import { exposureShardOf } from '@nunchi/analytics-model';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { identityKeys, projectPath, requireIdentityKey } from '@nunchi/config';
import { CustomerKeyRepository, CustomerKeyring, storedIdentityValue } from '@nunchi/cassandra';
import { analyticsPseudonym } from '@nunchi/sealing';
import { localDay } from '@nunchi/context-model';
import { decisionIdOf, Headers, partitionOf, Subjects } from '@nunchi/contracts/core';
import type { ErasureReceipt } from '@nunchi/contracts';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { eraseCustomer } from '../apps/cli/src/commands/erase.js';
import { dadsPurchase, runId, seoulTime, startHarness, waitFor, type Harness } from './support/harness.js';
import {
  accepted,
  contextDrained,
  contextOf,
  countRows,
  getJson,
  redeliver,
  sendEvents,
  storedTotals,
  type ContextStats,
  type ContextView,
} from './support/context-tools.js';

const MIN = 60_000;
const DAY = 86_400_000;

describe('customer context: exact under real conditions', () => {
  let h: Harness;
  let url: string;
  const run = runId();
  const store = `t${run}-s1`;
  const purchase = (id: string, customerId: string, atMs: number, amount: number, storeId = store) => ({
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(atMs).toISOString(),
    customer: { id: customerId },
    storeId,
    payload: {
      amount,
      currency: 'KRW',
      items: [{ sku: 'x1', category: 'beer', quantity: 2, unitPrice: amount / 2 }],
    },
  });

  before(async () => {
    h = await startHarness();
    url = h.services.urls.context;
    // A replica gone within the last minutes still looks alive for one lease TTL: wait for the full share.
    await waitFor(
      'the context service to own every partition',
      async () => {
        const stats = await getJson<ContextStats>(`${url}/v1/context/stats`);
        return stats.partitions.owned.length === h.config.nats.partitions ? true : undefined;
      },
      30_000,
    );
  });

  after(async () => {
    await h?.close();
  });

  it('counts an event delivered twice once: JetStream repeat, and a repeat beyond the window, twice', async () => {
    const customer = `t${run}-dup`;
    const e = purchase(`t${run}-dup-1`, customer, Date.now() - MIN, 10_000);
    const [first] = await sendEvents(h.nc, [e]);
    assert.ok(first?.ok);
    const [again] = await sendEvents(h.nc, [e]);
    assert.deepEqual(again, { ok: true, id: e.id, customerId: customer, duplicate: true });
    await waitFor('the event applied', async () =>
      (await storedTotals(h.cql, customer)).events === 1 ? true : undefined,
    );

    // Beyond JetStream's duplicate window: the same event arrives again under another msgID.
    await redeliver(h.nc, accepted(e, customer), h.config.nats.partitions);
    await contextDrained(h.nc, h.config.nats.partitions);
    await redeliver(h.nc, accepted(e, customer), h.config.nats.partitions);
    await contextDrained(h.nc, h.config.nats.partitions);

    assert.deepEqual(await storedTotals(h.cql, customer), {
      events: 1,
      spend: 10_000,
      purchases: 1,
      days: 1,
    });
    assert.equal(
      await countRows(h.cql, 'customer_events', customer, ` AND month = '${monthOf(e.occurredAt)}'`),
      1,
    );
    const view = await contextOf(url, customer);
    assert.equal(view.ctx.all.d7.events, 1);
    assert.equal(view.ctx.all.d7.spend, 10_000);
    assert.deepEqual(
      view.ctx.recent.map((r) => r.id),
      [e.id],
    );
  });

  it('puts late and out-of-order events in their own day and window, and agrees with a cold read', async () => {
    const customer = `t${run}-late`;
    const now = Date.now();
    const events = [
      purchase(`t${run}-late-a`, customer, now - 2 * MIN, 10_000),
      purchase(`t${run}-late-b`, customer, now - 40 * DAY, 20_000), // late: 40 days back
      purchase(`t${run}-late-c`, customer, now - 3 * DAY, 5_000, `t${run}-s2`),
      { ...purchase(`t${run}-late-d`, customer, now - 5 * MIN, 0), type: 'visit', payload: {} }, // out of order
    ];
    for (const e of events) await sendEvents(h.nc, [e]); // one at a time: the order is the point
    await waitFor('all four applied', async () =>
      (await storedTotals(h.cql, customer)).events === 4 ? true : undefined,
    );

    const hot = await contextOf(url, customer);
    assert.deepEqual(pick(hot.ctx.all.d7), { spend: 15_000, purchases: 2, events: 3 });
    assert.deepEqual(pick(hot.ctx.all.d30), { spend: 15_000, purchases: 2, events: 3 });
    assert.deepEqual(pick(hot.ctx.all.d90), { spend: 35_000, purchases: 3, events: 4 });
    assert.equal(hot.ctx.daysSinceLastPurchase, 0);
    assert.deepEqual(
      hot.ctx.recent.map((r) => r.id),
      [`t${run}-late-a`, `t${run}-late-d`, `t${run}-late-c`, `t${run}-late-b`],
    );
    assert.equal(hot.ctx.store[store]?.d90.spend, 30_000);
    const totals = await storedTotals(h.cql, customer);
    assert.equal(totals.days, 3, 'three local days of rows');

    // Drop the hot tier (as an import would) and read again: the same context from Cassandra alone.
    h.nc.publish(Subjects.customersChanged, encodeJson({ ids: [customer] }));
    await h.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    const cold = await contextOf(url, customer);
    assert.deepEqual({ ...cold.ctx, asOf: '' }, { ...hot.ctx, asOf: '' });
  });

  it('changes the profile with profile_update, field by field, the latest change winning even when it arrives first', async () => {
    const customer = `t${run}-prof`;
    const file = join(mkdtempSync(join(tmpdir(), 'nunchi-')), 'c.ndjson');
    writeFileSync(
      file,
      JSON.stringify({
        id: customer,
        age: 40,
        gender: 'F',
        region: 'Seoul',
        creditTier: 'C',
        attributes: { segment: 'a' },
      }),
    );
    assert.equal((await importCustomers(h.resources, file, { quiet: true })).imported, 1);
    const update = (id: string, atMs: number, payload: Record<string, unknown>) => ({
      id,
      type: 'profile_update',
      channel: 'app',
      occurredAt: new Date(atMs).toISOString(),
      customer: { id: customer },
      payload,
    });
    await sendEvents(h.nc, [
      update(`t${run}-p1`, Date.now(), { region: 'Busan', attributes: { tier: 'gold' } }),
    ]);
    // Older than both the import and the first update: it may only change what nobody changed later.
    await sendEvents(h.nc, [update(`t${run}-p2`, Date.now() - 3_600_000, { region: 'Daegu', age: 41 })]);
    await contextDrained(h.nc, h.config.nats.partitions);
    const view = await contextOf(url, customer);
    assert.deepEqual(view.profile, {
      id: customer,
      age: 40, // the import (now) is newer than the late update (an hour ago)
      gender: 'F',
      region: 'Busan',
      creditTier: 'C',
      attributes: { segment: 'a', tier: 'gold' },
    });
  });

  it('answers the same context over HTTP and over NATS request/reply, and refuses a bad id on both', async () => {
    const customer = `t${run}-dup`;
    const http = await contextOf(url, customer);
    const msg = await h.nc.request(
      Subjects.contextGet,
      encodeJson({ customerId: customer, storeId: store }),
      { timeout: 5_000 },
    );
    const rpc = decodeJson(msg.data) as ContextView & { ok: boolean };
    assert.equal(rpc.ok, true);
    assert.deepEqual({ ...rpc.ctx, asOf: '', thisStore: null }, { ...http.ctx, asOf: '', thisStore: null });
    assert.equal(rpc.ctx.thisStore.d7.spend, 10_000, 'storeId selects thisStore');

    assert.equal((await fetch(`${url}/v1/customers/bad%20id/context`)).status, 400);
    const bad = decodeJson(
      (await h.nc.request(Subjects.contextGet, encodeJson({ customerId: 'a.b' }), { timeout: 5_000 })).data,
    ) as { ok: boolean; error: { code: string } };
    assert.deepEqual([bad.ok, bad.error.code], [false, 'VALIDATION_FAILED']);
  });

  it('reports its partitions and hot tier (entries, bytes, hit ratio) at /v1/context/stats and /metrics', async () => {
    const stats = await getJson<ContextStats>(`${url}/v1/context/stats`);
    assert.equal(stats.partitions.owned.length, h.config.nats.partitions);
    assert.ok(stats.cache.entries >= 1 && stats.cache.bytes > 0, JSON.stringify(stats.cache));
    assert.ok(
      stats.cache.hits > 0 && stats.cache.hitRatio > 0 && stats.cache.hitRatio <= 1,
      JSON.stringify(stats.cache),
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const name of [
      'nunchi_context_cache_hit_ratio',
      'nunchi_context_cache_bytes',
      'nunchi_context_cache_entries',
      'nunchi_context_cache_hits',
    ]) {
      assert.match(metrics, new RegExp(`^${name}`, 'm'), `${name} on /metrics`);
    }
  });

  describe('erasure', () => {
    const dad = { id: `t${run}-erase`, card: `LC-${run}-E`, phone: '+82-10-5555-0101' };
    const events = [
      dadsPurchase(`t${run}-er-1`, { loyaltyCard: dad.card }, store, seoulTime('19:05')),
      dadsPurchase(`t${run}-er-2`, { id: dad.id }, store, seoulTime('19:06')),
    ];

    /** the dad's row of the day of his events in active_customers (the hot-tier preload's index): 0 or 1 */
    const activeRows = async () =>
      (
        await h.cql.execute(
          'SELECT customer_id FROM active_customers WHERE partition = ? AND day = ? AND customer_id = ?',
          [
            partitionOf(dad.id, h.config.nats.partitions),
            localDay(Date.parse(events[0].occurredAt), h.config.domain.timeZone),
            dad.id,
          ],
          { prepare: true },
        )
      ).rowLength;

    before(async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'nunchi-')), 'c.ndjson');
      writeFileSync(
        file,
        JSON.stringify({
          id: dad.id,
          age: 34,
          gender: 'M',
          region: 'Bundang',
          creditTier: 'C',
          loyaltyCard: dad.card,
          phone: dad.phone,
          attributes: {},
        }),
      );
      await importCustomers(h.resources, file, { quiet: true });
      await applyCampaign(h.resources, projectPath('campaigns', 'examples', 'bundang-dad-beer.yaml'));
      await waitFor('the campaign to load', async () => {
        const body = await getJson<{ loaded: Record<string, number> }>(
          `${h.services.urls.decision}/v1/campaigns`,
        );
        return body.loaded['bundang-dad-beer'] ? true : undefined;
      });
      await sendEvents(h.nc, events);
      for (const e of events) {
        await waitFor(`decision of ${e.id}`, async () =>
          (await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(e)}`)).ok ? true : undefined,
        );
      }
    });

    it('DELETE /v1/customers/:id removes every row of the customer and says how many, per table', async () => {
      assert.equal((await contextOf(url, dad.id)).ctx.all.d7.events, 2);
      // Analytics' rows name the dad by his pseudonym, which only his data key gives (docs/security.md).
      const dadKey = await new CustomerKeyring(new CustomerKeyRepository(h.cql), identityKeys(h.config), {
        maxEntries: 0,
      }).find(dad.id);
      assert.ok(dadKey, 'the data key of the dad');
      const pseudonym = analyticsPseudonym(dad.id, dadKey);
      // Analytics has recorded the dad's campaign decisions (its rows are erased too).
      const analyticsKeys = await waitFor('analytics rows of the dad', async () => {
        const rows = (
          await h.cql.execute(
            'SELECT campaign_id, day, decision_id FROM analytics_customer_decisions WHERE customer_id = ?',
            [pseudonym],
            { prepare: true },
          )
        ).rows;
        return rows.length
          ? rows.map(
              (r) => [r['campaign_id'] as string, r['day'] as string, r['decision_id'] as string] as const,
            )
          : undefined;
      });
      // ... and the exposure it writes after them (an erasure in between, on a loaded machine, left none to count)
      await waitFor('an analytics exposure of the dad', async () => {
        for (const [campaignId] of analyticsKeys) {
          const found = await h.cql.execute(
            'SELECT customer_id FROM analytics_exposures WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
            [campaignId, exposureShardOf(pseudonym), pseudonym],
            { prepare: true },
          );
          if (found.rowLength) return true;
        }
        return undefined;
      });
      for (const table of ['analytics_customer_decisions', 'analytics_purchases'])
        assert.equal(await countRows(h.cql, table, dad.id), 0, `${table} names the dad by his id`);
      const response = await fetch(`${url}/v1/customers/${dad.id}`, { method: 'DELETE' });
      assert.equal(response.status, 200);
      const receipt = (await response.json()) as ErasureReceipt;
      assert.equal(receipt.alreadyErased, false);
      assert.deepEqual(
        {
          ...receipt.removed,
          customer_days: receipt.removed['customer_days'] > 0,
          decisions: receipt.removed['decisions'] > 0,
          decisions_by_campaign: receipt.removed['decisions_by_campaign'] > 0,
          // Analytics and the contact ledger hold what decisions and purchases analytics has handled by now.
          customer_contacts: typeof receipt.removed['customer_contacts'],
          analytics_decisions: typeof receipt.removed['analytics_decisions'],
          analytics_exposures: typeof receipt.removed['analytics_exposures'],
          analytics_customer_decisions: typeof receipt.removed['analytics_customer_decisions'],
          analytics_purchases: typeof receipt.removed['analytics_purchases'],
        },
        {
          customers: 1,
          identities: 2,
          customer_identities: 2,
          customer_events: 2,
          customer_event_months: 1,
          customer_days: true,
          // both events on one local day: the preload's index of the day (docs/context-model.md "The hot tier")
          active_customers: 1,
          decisions: true,
          decisions_by_campaign: true,
          decisions_by_id: 2,
          customer_contacts: 'number',
          analytics_decisions: 'number',
          analytics_exposures: 'number',
          analytics_customer_decisions: 'number',
          analytics_purchases: 'number',
          // the dad's data key (crypto-shredding): created by his first event
          customer_keys: 1,
        },
      );
      // The receipt names every store, and says which still hold the customer's data and why.
      assert.deepEqual(
        receipt.stores?.map((s) => [s.store, s.erased]),
        [
          ['cassandra', true],
          ['customer data key', true],
          ['context hot tier', true],
          ['ingestion identity cache', true],
          ['data-key caches (ingestion, context, decision, analytics)', true],
          ['decision contact-ledger cache', false],
          ['streams (EVENTS, ENRICHED, DECISIONS, DLQ)', false],
        ],
      );

      for (const table of [
        'customers',
        'customer_identities',
        'customer_event_months',
        'customer_days',
        'decisions',
        'customer_contacts',
      ]) {
        assert.equal(await countRows(h.cql, table, dad.id), 0, `${table} still has rows`);
      }
      for (const table of ['analytics_customer_decisions', 'analytics_purchases'])
        assert.equal(await countRows(h.cql, table, pseudonym), 0, `${table} still has rows`);
      assert.equal(
        await countRows(h.cql, 'customer_events', dad.id, ` AND month = '${monthOf(events[0].occurredAt)}'`),
        0,
      );
      assert.equal(await activeRows(), 0, 'active_customers still names the customer');
      for (const e of events) {
        const one = async (cql: string, key: string) =>
          (await h.cql.execute(cql, [key], { prepare: true })).rowLength;
        assert.equal(
          await one('SELECT decision_id FROM decisions_by_id WHERE decision_id = ?', decisionIdOf(e)),
          0,
        );
      }
      assert.ok(
        receipt.removed['analytics_decisions'] >= analyticsKeys.length,
        JSON.stringify(receipt.removed),
      );
      assert.ok(receipt.removed['analytics_exposures'] >= 1, JSON.stringify(receipt.removed));
      for (const [campaignId, day, decisionId] of analyticsKeys) {
        const rows = async (cql: string, params: unknown[]) =>
          (await h.cql.execute(cql, params, { prepare: true })).rowLength;
        assert.equal(
          await rows(
            'SELECT decision_id FROM analytics_decisions WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
            [campaignId, day, pseudonym, decisionId],
          ),
          0,
        );
        assert.equal(
          await rows(
            'SELECT customer_id FROM analytics_exposures WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
            [campaignId, exposureShardOf(pseudonym), pseudonym],
          ),
          0,
        );
      }
      const card = await h.cql.execute(
        "SELECT customer_id FROM identities WHERE id_type = 'loyaltyCard' AND id_value = ?",
        [storedIdentityValue('loyaltyCard', dad.card, requireIdentityKey(h.config).secret)],
        { prepare: true },
      );
      assert.equal(card.rowLength, 0);
      const view = await contextOf(url, dad.id);
      assert.equal(view.erased, true);
      assert.equal(view.profile, null);
      assert.equal(view.ctx.all.d365.events, 0);
    });

    it('refuses a redelivered old event of the erased customer (to the DLQ), so nothing comes back', async () => {
      const jsm = await jetstreamManager(h.nc);
      const dlqBefore = (await jsm.streams.info('DLQ')).state.last_seq;
      await redeliver(h.nc, accepted(events[0], dad.id), h.config.nats.partitions);
      const dead = await waitFor('the refusal in the DLQ', async () => {
        const m = await jsm.streams.getMessage('DLQ', { last_by_subj: Subjects.dlq('context') });
        return m && m.seq > dlqBefore ? m : undefined;
      });
      assert.match(dead.header.get(Headers.dlqReason), /erased/);
      await contextDrained(h.nc, h.config.nats.partitions);
      assert.deepEqual(await storedTotals(h.cql, dad.id), { events: 0, spend: 0, purchases: 0, days: 0 });
      assert.equal(
        await countRows(h.cql, 'customer_events', dad.id, ` AND month = '${monthOf(events[0].occurredAt)}'`),
        0,
      );
      assert.equal(await activeRows(), 0, 'active_customers still names the customer');
    });

    it('nunchi customers erase: the same from the CLI; a repeat finds nothing left and keeps the first date', async () => {
      const again = await eraseCustomer(h.resources, dad.id);
      assert.equal(again.alreadyErased, true);
      assert.ok(
        Object.values(again.removed).every((n) => n === 0),
        JSON.stringify(again.removed),
      );

      const other = `t${run}-erase2`;
      const file = join(mkdtempSync(join(tmpdir(), 'nunchi-')), 'c.ndjson');
      writeFileSync(file, JSON.stringify({ id: other, age: 50, attributes: {}, loyaltyCard: `LC-${run}-F` }));
      await importCustomers(h.resources, file, { quiet: true });
      const receipt = await eraseCustomer(h.resources, other);
      assert.deepEqual(
        [receipt.removed['customers'], receipt.removed['identities'], receipt.removed['customer_events']],
        [1, 1, 0],
      );
      assert.equal((await contextOf(url, other)).erased, true);
    });
  });
});

const pick = (t: { spend: number; purchases: number; events: number }) => ({
  spend: t.spend,
  purchases: t.purchases,
  events: t.events,
});

/** The local-month bucket ('YYYY-MM', Seoul) of an instant. */
const monthOf = (occurredAt: string): string => localDay(Date.parse(occurredAt), 'Asia/Seoul').slice(0, 7);
