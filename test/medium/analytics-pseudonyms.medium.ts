/**
 * Migration 0023 against the real Cassandra, in a keyspace of its own migrated up to it: analytics' rows an
 * earlier version stored under customer ids move under the customers' analytics pseudonyms, each cell at its
 * own write timestamp and remaining TTL (so conversions keep their order and rows expire when they would have),
 * the exposure into its pseudonym's shard; a customer without a key gets one; one whose key is wrapped under an
 * identity key not given stays as it was and is counted; an erased customer's rows are deleted; the repository
 * then finds everything under the pseudonym; a second run finds nothing to do (docs/security.md, "Analytics'
 * rows").
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { exposureShardOf } from '@nunchi/analytics-model';
import {
  AnalyticsRepository,
  CustomerKeyRepository,
  CustomerKeyring,
  pseudonymiseAnalytics,
  type CqlClient,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import { analyticsPseudonym, generateDataKey, isPseudonym, wrapDataKey } from '@nunchi/sealing';
import { keyspaceBefore } from '../support/partial-keyspace.js';

describe('migration 0023 moves analytics rows under pseudonyms (a keyspace of its own)', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  const partial = keyspaceBefore(config.cassandra, /^\d{4}_analytics_pseudonyms\.cql$/, 'a');
  const keks = identityKeys(config);
  const [keyed, keyless, locked, erased] = ['keyed', 'keyless', 'locked', 'erased'].map((n) => `${n}-${run}`);
  const campaign = `camp-${run}`;
  const day = '2026-12-01';
  /** microseconds, as USING TIMESTAMP takes them: two hours ago (the decision), an hour ago (its conversion) */
  const decidedUs = (Date.now() - 7_200_000) * 1000;
  const convertedUs = (Date.now() - 3_600_000) * 1000;
  const decidedAt = new Date(decidedUs / 1000);
  const boughtAt = new Date(convertedUs / 1000);
  /** seconds: a TTL that the 90-day default of two of the tables would not give */
  const TTL_S = 86_400;
  let ks: CqlClient;

  const exec = (cql: string, params: unknown[]) => ks.execute(cql, params, { prepare: true });
  /** What an earlier version wrote for a customer: a decision, its exposure and index, a purchase. */
  const writeNamed = async (customerId: string) => {
    await exec(
      'INSERT INTO analytics_decisions (campaign_id, day, customer_id, decision_id, decided_at, hour, outcome, offer_id, value, window_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
      [campaign, day, customerId, `d-${customerId}`, decidedAt, 9, 'offer', 'coupon', 2_000, 7, decidedUs],
    );
    await exec(
      'UPDATE analytics_decisions USING TIMESTAMP ? SET converted = ?, revenue = ? WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
      [convertedUs, true, 15_000, campaign, day, customerId, `d-${customerId}`],
    );
    await exec(
      'UPDATE analytics_exposures USING TIMESTAMP ? SET first_at = ?, grp = ?, offer_id = ?, window_days = ? WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
      [decidedUs, decidedAt, 'treatment', 'coupon', 7, campaign, exposureShardOf(customerId), customerId],
    );
    await exec(
      'INSERT INTO analytics_customer_decisions (customer_id, decided_at, decision_id, campaign_id, day, outcome, window_days) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?',
      [customerId, decidedAt, `d-${customerId}`, campaign, day, 'offer', 7, decidedUs, TTL_S],
    );
    await exec(
      'INSERT INTO analytics_purchases (customer_id, occurred_at, event_id, amount) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?',
      [customerId, boughtAt, `pos/p-${customerId}`, 15_000, convertedUs, TTL_S],
    );
  };
  const rowsOf = async (table: string) =>
    (await ks.execute(`SELECT customer_id FROM ${table}`)).rows.map((r) => r['customer_id'] as string);

  before(async () => {
    ks = await partial.open();
    await new CustomerKeyring(new CustomerKeyRepository(ks), keks, { maxEntries: 0 }).obtain(keyed);
    // locked's key is wrapped under an identity key this process is not given
    await new CustomerKeyRepository(ks).create(
      locked,
      wrapDataKey(locked, generateDataKey(), { id: 'lost', secret: `a-lost-identity-key-${run}` }),
      new Date(),
    );
    await exec('INSERT INTO erased_customers (customer_id, erased_at) VALUES (?, ?)', [erased, new Date()]);
    for (const id of [keyed, keyless, locked, erased]) await writeNamed(id);
  });
  after(() => partial.close());

  it('moves every cell under the pseudonym at its own write timestamp and TTL, and deletes the named rows', async () => {
    const lines: string[] = [];
    const report = await partial.migrate((line) => lines.push(line), { identityKey: keks[0] });
    assert.deepEqual(report.applied, [partial.name]);
    assert.ok(
      lines.some((l) =>
        /moved 8 analytics rows .* \(of 16 rows; 1 data keys created, 4 rows of erased customers deleted; 4 left under customer ids/.test(
          l,
        ),
      ),
      lines.join(' | '),
    );

    const keyring = new CustomerKeyring(new CustomerKeyRepository(ks), keks, { maxEntries: 10 });
    const pseudonym = analyticsPseudonym(keyed, (await keyring.find(keyed))!);
    const repo = new AnalyticsRepository(ks);
    assert.deepEqual(await repo.purchasesBetween(pseudonym, 0, Date.now()), [
      { occurredAtMs: boughtAt.getTime(), amount: 15_000 },
    ]);
    assert.deepEqual(
      (await repo.customerDecisionsBetween(pseudonym, 0, Date.now())).map((d) => [d.decisionId, d.outcome]),
      [[`d-${keyed}`, 'offer']],
    );
    const shard = exposureShardOf(pseudonym);
    assert.deepEqual(await repo.exposureOf(campaign, shard, pseudonym), {
      firstAtMs: decidedAt.getTime(),
      windowDays: 7,
    });
    const decision = (
      await exec(
        'SELECT outcome, converted, revenue, WRITETIME(outcome) AS outcome_at, WRITETIME(converted) AS converted_at FROM analytics_decisions WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
        [campaign, day, pseudonym, `d-${keyed}`],
      )
    ).first();
    assert.deepEqual(
      [decision['outcome'], decision['converted'], decision['revenue']],
      ['offer', true, 15_000],
    );
    assert.equal(
      String(decision['outcome_at']),
      String(decidedUs),
      "the decision's cells keep their timestamp",
    );
    assert.equal(String(decision['converted_at']), String(convertedUs), "and the conversion's its own");
    const purchase = (
      await exec('SELECT TTL(amount) AS ttl FROM analytics_purchases WHERE customer_id = ?', [pseudonym])
    ).first();
    const ttl = purchase['ttl'] as number;
    assert.ok(ttl <= TTL_S && ttl > TTL_S - 120, `remaining TTL kept: ${ttl}`);

    // Nothing left under the ids moved or erased; the locked customer's rows stay as they were.
    for (const table of [
      'analytics_decisions',
      'analytics_exposures',
      'analytics_customer_decisions',
      'analytics_purchases',
    ]) {
      const ids = await rowsOf(table);
      assert.deepEqual(
        ids.filter((id) => !isPseudonym(id)),
        [locked],
        `${table}: ${ids.join(', ')}`,
      );
      assert.equal(
        ids.filter(isPseudonym).length,
        2,
        `${table}: keyed's and keyless's rows, under pseudonyms`,
      );
    }
  });

  it('a second run finds nothing more to move', async () => {
    const again = await pseudonymiseAnalytics(ks, keks);
    assert.deepEqual(
      {
        moved: again.moved,
        keysCreated: again.keysCreated,
        erased: again.erased,
        unopenable: again.unopenable,
      },
      { moved: 0, keysCreated: 0, erased: 0, unopenable: 4 },
    );
  });
});
