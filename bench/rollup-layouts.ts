/**
 * The two rollup layouts side by side, on the same customers: `customer_daily` (one row per day and dim, the
 * layout before migration 0010) and `customer_days` (one row per day, every dim in one encoded cell).
 *
 *   npm run build && node dist/bench/rollup-layouts.js          (~2 minutes; needs Cassandra)
 *   AB_CUSTOMERS=100 AB_ROUNDS=1 node dist/bench/rollup-layouts.js   (a smoke test)
 *
 * Measured per operation, with the two layouts interleaved in blocks of 25 customers (the order alternating)
 * so that a machine shared with other work loads both alike:
 *  - the rollup read of a cold load (ContextRepository.dailySince now; the pre-0010 read and row mapping,
 *    verbatim, for customer_daily): rows decoded, CPU of this process, Cassandra's CPU, wall latency;
 *  - a whole cold load's reads (ContextRepository.storedHistory: rollups, month index, the open days' events,
 *    the 20 recent events — with the pre-0010 rollup read in a subclass for customer_daily);
 *  - the write of one day's rollups (what each event writes besides its event row): an unlogged batch of
 *    the day's rows, or one row.
 * Cassandra's CPU is read from /proc/<pid>/stat (CASSANDRA_PID, else the process running CassandraDaemon);
 * idle blocks measure what the rest of the machine makes it spend, which is subtracted pro rata of wall time.
 * When this bench was written: 300 customers, ~690 rollup rows (~155 days) each.
 * Delete it with customer_daily.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  ContextRepository,
  CustomerKeyRepository,
  CustomerKeyring,
  dailyRowsTimestamp,
  runAll,
  statement,
  writeBatched,
  type BulkWrite,
} from '@nunchi/cassandra';
import { identityKeys } from '@nunchi/config';
import { addDays, localDay, rollupEvents, type DailyRollup } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import { sampleProcess } from './proc-stats.js';
import { benchConfig, benchKeyspace, dropBenchKeyspace, percentile, prng } from './support.js';

const TZ = 'Asia/Seoul';
const DAY_MS = 86_400_000;
const TTL = 400 * 86_400;
const STORES = Array.from({ length: 50 }, (_, i) => `store-${String(i + 1).padStart(2, '0')}`);
const CATEGORIES =
  'infant_formula beer diapers chicken ramen kimchi rice fruit vegetables beef pork seafood snacks soju wine coffee tea milk yogurt bread cosmetics shampoo detergent toys electronics clothing stationery frozen tofu eggs'.split(
    ' ',
  );

// The pre-0010 statements, not registered (they are not the application's).
const LEGACY_SINCE = statement(
  'legacy.customer_daily.since',
  'SELECT day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at FROM customer_daily WHERE customer_id = ? AND day >= ?',
);
const LEGACY_UPSERT =
  'INSERT INTO customer_daily (customer_id, day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?';

const toDate = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
const legacyParams = (customerId: string, r: DailyRollup, timestamp: number) => [
  customerId,
  r.day,
  r.dim,
  r.spend,
  r.purchases,
  r.visits,
  r.items,
  r.events,
  toDate(r.lastVisitMs),
  toDate(r.lastPurchaseMs),
  TTL,
  timestamp,
];

/** A history of the mix bench/context.ts uses: till purchases and visits at home stores, app and web. */
function history(customerId: string, count: number, rnd: () => number, nowMs: number): AcceptedEvent[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const homes = [pick(STORES), pick(STORES)];
  const favourites = Array.from({ length: 6 }, () => pick(CATEGORIES));
  const category = () => (rnd() < 0.7 ? pick(favourites) : pick(CATEGORIES));
  const basket = () => {
    const items = Array.from({ length: 1 + Math.floor(rnd() * 6) }, (_, i) => ({
      sku: `s${i}`,
      category: category(),
      quantity: 1 + Math.floor(rnd() * 4),
      unitPrice: 100 * (10 + Math.floor(rnd() * 490)),
    }));
    return { amount: items.reduce((s, l) => s + l.quantity * l.unitPrice, 0), currency: 'KRW', items };
  };
  return Array.from({ length: count }, (_, k): AcceptedEvent => {
    const ms = nowMs - 60_000 - Math.floor(rnd() * 380 * DAY_MS);
    const base = {
      id: `${customerId}-${k}`,
      customerId,
      occurredAt: new Date(ms).toISOString(),
      occurredAtMs: ms,
      receivedAtMs: ms,
    };
    const r = rnd();
    if (r < 0.45) {
      const storeId = homes[rnd() < 0.8 ? 0 : 1];
      return rnd() < 0.7
        ? { ...base, type: 'purchase', channel: 'pos', storeId, payload: basket() }
        : { ...base, type: 'visit', channel: 'pos', storeId, payload: {} };
    }
    if (r < 0.55)
      return { ...base, type: 'purchase', channel: rnd() < 0.6 ? 'app' : 'web', payload: basket() };
    const channel = rnd() < 0.6 ? 'app' : 'web';
    const t = rnd();
    if (t < 0.35) return { ...base, type: 'page_view', channel, payload: { url: '/p' } };
    if (t < 0.85)
      return {
        ...base,
        type: t < 0.7 ? 'product_view' : 'cart',
        channel,
        payload: { sku: 's', category: category() },
      };
    return { ...base, type: 'app_open', channel: 'app', payload: {} };
  });
}

function cassandraPid(): number | undefined {
  if (process.env['CASSANDRA_PID']) return Number(process.env['CASSANDRA_PID']);
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('CassandraDaemon')) return Number(name);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

interface Tally {
  n: number;
  rows: number;
  /** seconds */
  clientCpu: number;
  cassandraCpu: number;
  wall: number;
  ms: number[];
}
const tally = (): Tally => ({ n: 0, rows: 0, clientCpu: 0, cassandraCpu: 0, wall: 0, ms: [] });
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function runRollupLayoutsBench(log: (line: string) => void = console.log): Promise<void> {
  const customersCount = Number(process.env['AB_CUSTOMERS'] ?? 300);
  const rounds = Number(process.env['AB_ROUNDS'] ?? 3);
  const pid = cassandraPid();
  const cassandraCpu = () => (pid === undefined ? 0 : (sampleProcess(pid)?.cpuSeconds ?? 0));
  const config = benchConfig();
  const client = await benchKeyspace(config);
  const keys = new CustomerKeyring(new CustomerKeyRepository(client), identityKeys(config), {
    maxEntries: 10_000,
  });
  const repo = new ContextRepository(client, TTL, keys);
  const rnd = prng(7);
  const nowMs = Date.now();
  try {
    const customers: Array<{ id: string; rows: DailyRollup[]; lastDay: DailyRollup[] }> = [];
    const groups: BulkWrite[][] = [];
    for (let i = 0; i < customersCount; i++) {
      const id = `layouts-${i}`;
      const events = history(id, 80 + Math.floor(rnd() * 250), rnd, nowMs);
      const rows = rollupEvents(events, TZ);
      const perDay = new Map(rows.filter((r) => r.dim === 'all').map((r) => [r.day, r.events]));
      customers.push({ id, rows, lastDay: rows.filter((r) => r.day === rows[0].day) });
      const writes = repo.historyWrites(events, await keys.obtain(id), TZ);
      for (const r of rows)
        writes.push({
          query: LEGACY_UPSERT,
          params: legacyParams(id, r, dailyRowsTimestamp(r.day, perDay.get(r.day)!)),
        });
      for (let w = 0; w < writes.length; w += 40) groups.push(writes.slice(w, w + 40));
    }
    assert.deepEqual(await writeBatched(client, groups, { groupsPerBatch: 1, concurrency: 16 }), []);
    const mean = (f: (c: (typeof customers)[number]) => number) =>
      Math.round(customers.reduce((a, c) => a + f(c), 0) / customers.length);
    log(
      `${customersCount} customers, ${mean((c) => c.rows.length)} rollup rows (${mean((c) => new Set(c.rows.map((r) => r.day)).size)} days) each on average`,
    );

    const fromDay = addDays(localDay(nowMs, TZ), -364);
    const legacyDailySince = async (customerId: string): Promise<DailyRollup[]> =>
      (await runAll(client, LEGACY_SINCE, [customerId, fromDay], 10_000)).map((r) => ({
        day: r['day'] as string,
        dim: r['dim'] as string,
        spend: (r['spend'] as number) ?? 0,
        purchases: (r['purchases'] as number) ?? 0,
        visits: (r['visits'] as number) ?? 0,
        items: (r['items'] as number) ?? 0,
        events: (r['events'] as number) ?? 0,
        ...(r['last_visit_at'] ? { lastVisitMs: (r['last_visit_at'] as Date).getTime() } : {}),
        ...(r['last_purchase_at'] ? { lastPurchaseMs: (r['last_purchase_at'] as Date).getTime() } : {}),
      }));
    const read = { old: legacyDailySince, new: (id: string) => repo.dailySince(id, fromDay) };
    /** The repository as it was before 0010: the same storedHistory over the pre-0010 rollup read. */
    class LegacyContextRepository extends ContextRepository {
      override dailySince(customerId: string): Promise<DailyRollup[]> {
        return legacyDailySince(customerId);
      }
    }
    const legacyRepo = new LegacyContextRepository(client, TTL, keys);
    const options = { timeZone: TZ, nowMs };
    const load = {
      old: (id: string) => legacyRepo.storedHistory(id, options),
      new: (id: string) => repo.storedHistory(id, options),
    };
    for (const c of customers.slice(0, 40)) {
      assert.deepEqual(await read.new(c.id), await read.old(c.id));
      assert.deepEqual(await load.new(c.id), await load.old(c.id));
    }
    for (let k = 0; k < 2; k++)
      for (const c of customers)
        await Promise.all([read.new(c.id), read.old(c.id), load.new(c.id), load.old(c.id)]);

    let seq = 900_000; // event counts above the history's: each write lands
    const write = {
      old: (c: (typeof customers)[number]) =>
        client.batch(
          c.lastDay.map((r) => ({
            query: LEGACY_UPSERT,
            params: legacyParams(c.id, r, dailyRowsTimestamp(r.day, seq++)),
          })),
          { prepare: true, logged: false, isIdempotent: true },
        ),
      new: (c: (typeof customers)[number]) => repo.upsertDay(c.id, c.lastDay[0].day, c.lastDay, seq++),
    };
    const reads = { old: tally(), new: tally() };
    const loads = { old: tally(), new: tally() };
    const writes = { old: tally(), new: tally() };
    const idle = { seconds: 0, cassandraCpu: 0 };
    const block = async <T>(t: Tally, items: T[], fn: (item: T) => Promise<unknown>) => {
      const c0 = cpuSeconds();
      const k0 = cassandraCpu();
      const w0 = performance.now();
      for (const item of items) {
        const started = performance.now();
        const out = await fn(item);
        t.ms.push(performance.now() - started);
        t.n++;
        if (Array.isArray(out)) t.rows += out.length;
      }
      t.clientCpu += cpuSeconds() - c0;
      t.cassandraCpu += cassandraCpu() - k0;
      t.wall += (performance.now() - w0) / 1000;
    };
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < customers.length; i += 25) {
        const slice = customers.slice(i, i + 25);
        const order = (i / 25 + round) % 2 ? (['old', 'new'] as const) : (['new', 'old'] as const);
        for (const k of order) await block(reads[k], slice, (c) => read[k](c.id));
        for (const k of order) await block(loads[k], slice, (c) => load[k](c.id));
        for (const k of order) await block(writes[k], slice, (c) => write[k](c));
        const k0 = cassandraCpu();
        const w0 = performance.now();
        await new Promise((r) => setTimeout(r, 150)); // none of this running: the rest of the machine's share
        idle.cassandraCpu += cassandraCpu() - k0;
        idle.seconds += (performance.now() - w0) / 1000;
      }
    }
    const background = idle.cassandraCpu / idle.seconds; // Cassandra CPU seconds per second
    const ms = (seconds: number, n: number) => ((seconds / n) * 1000).toFixed(3);
    for (const [label, t] of [
      ['rollup read of a cold load (a year)', reads],
      ["a cold load's reads (storedHistory)", loads],
      ["write of one day's rollups", writes],
    ] as const) {
      log(`\n${label}`);
      for (const k of ['old', 'new'] as const) {
        const s = t[k];
        const sorted = [...s.ms].sort((a, b) => a - b);
        log(
          `  ${k === 'old' ? 'customer_daily (day × dim)' : 'customer_days (day)       '}  n=${s.n}` +
            `  client CPU ${ms(s.clientCpu, s.n)} ms  Cassandra CPU ${ms(s.cassandraCpu - background * s.wall, s.n)} ms` +
            ` (raw ${ms(s.cassandraCpu, s.n)})  wall p50 ${percentile(sorted, 50).toFixed(2)} ms p99 ${percentile(sorted, 99).toFixed(2)} ms` +
            (s.rows ? `  rollups ${Math.round(s.rows / s.n)}` : ''),
        );
      }
    }
    const inWindow = customers.map((c) => c.rows.filter((r) => r.day >= fromDay));
    log(
      `\nCassandra rows read per cold load, mean: customer_daily ${Math.round(inWindow.reduce((a, rows) => a + rows.length, 0) / customers.length)}, ` +
        `customer_days ${Math.round(inWindow.reduce((a, rows) => a + new Set(rows.map((r) => r.day)).size, 0) / customers.length)}`,
    );
    log(
      `Cassandra ${pid === undefined ? 'pid not found: its CPU not measured' : `pid ${pid}: ${(background * 100).toFixed(0)} % of a core spent on other work during idle blocks (subtracted)`}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
  } finally {
    await dropBenchKeyspace(client, config).catch((e: Error) =>
      log(`could not drop the bench keyspace: ${e.message}`),
    );
    await client.shutdown();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runRollupLayoutsBench();
