/**
 * Context benchmark: the live path (Cassandra wide rows + hot tier) beside the old way (SQL over a raw
 * events table in PostgreSQL), on the same customers and the same history.
 *
 *   npm run build && npm run bench:context           (< 3 minutes on 2 cores; needs Cassandra and PostgreSQL)
 *   node dist/bench/context.js --quick               (smaller, for a smoke test)
 *
 * History: `events` (default 1,000,000) events over the last ~380 days for `customers` (default 5,000)
 * customers with a heavy-tailed activity (seeded PRNG): till purchases and visits at one or two home
 * stores among 50, app and web page views, product views and carts about 30 categories, online purchases;
 * baskets of 1-6 lines. PostgreSQL gets all of it (a database of its own, created and dropped; multi-row
 * INSERT … SELECT FROM unnest, then the index); Cassandra gets the full history of `measured` (default 400)
 * customers — the live path reads one customer's partitions, so the others would not change its numbers.
 *
 * Measured, after warm-up, each call timed with process.hrtime:
 *  - update + snapshot per event: ApplyEventUseCase.execute, the context service's own code (seen and
 *    tombstone checks, event row, the day's read-back and rollup, upsert, snapshot, seen mark) against
 *    Cassandra with a warm hot tier; only the ENRICHED publish is left out (one JetStream round trip);
 *  - snapshot from the hot tier: GetContextUseCase.execute on cached customers, as served (the snapshot is
 *    memoised per local day until the customer's next write), and built from the hot rows (the first read
 *    after a write, and what every event costs);
 *  - snapshot on a miss: the same with the customer not cached (three Cassandra reads and the month index);
 *  - the SQL way: one aggregate query computing every window of every dim from the raw events (jsonb line
 *    items unnested, local days by AT TIME ZONE) plus the 20 most recent events — prepared statements.
 * Before timing, the SQL answer is checked against the live snapshot for a sample of customers.
 *
 * runContextBench(opts) returns the figures.
 */
import 'reflect-metadata';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import {
  ContextRepository,
  CustomerKeyRepository,
  CustomerKeyring,
  CustomerRepository,
  DecisionRepository,
  MergeRepository,
  mapBounded,
  writeBatched,
} from '@nunchi/cassandra';
import type { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { identityKeys } from '@nunchi/config';
import { addDays, localDay, localDayRange } from '@nunchi/context-model';
import type { AcceptedEvent, ContextSnapshot, WindowTotals, Windows } from '@nunchi/contracts';
import type { Delivery, Publisher } from '@nunchi/messaging';
import { CampaignSet } from '@nunchi/rules';
import { ApplyEventUseCase } from '../apps/context/src/apply-event.usecase.js';
import { CustomerStateCache } from '../apps/context/src/customer-state.cache.js';
import { GetContextUseCase } from '../apps/context/src/get-context.usecase.js';
import { LoadCustomerStateUseCase } from '../apps/context/src/load-customer-state.usecase.js';
import { MergeCustomersUseCase } from '../apps/context/src/merge-customers.usecase.js';
import {
  benchArgs,
  benchConfig,
  benchKeyspace,
  dropBenchKeyspace,
  percentile,
  prng,
  REGIONS,
  round,
} from './support.js';

export interface ContextBenchOptions {
  /** historical events in PostgreSQL; @default 1_000_000 */
  events?: number;
  /** customers sharing them; @default 5_000 */
  customers?: number;
  /** customers measured, whose history is also in Cassandra; @default 400 */
  measured?: number;
  /** events applied through the live path, timed; @default 2_000 */
  updates?: number;
  /** hot-tier snapshots timed; @default 20_000 */
  snapshots?: number;
  /** SQL snapshots timed; @default 2_000 */
  sqlQueries?: number;
  seed?: number;
  /** keep the bench keyspace and database afterwards; @default false */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface Latency {
  samples: number;
  /** milliseconds */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ContextBenchFigures {
  historicalEvents: number;
  customers: number;
  measuredCustomers: number;
  /** mean events per measured customer */
  eventsPerMeasuredCustomer: number;
  /** mean rollup rows per measured customer (days × dims) */
  rowsPerMeasuredCustomer: number;
  updateAndSnapshot: Latency;
  /** a read served by the hot tier (the snapshot memoised since the customer's last write) */
  hotSnapshot: Latency;
  /** the first read after a write: the snapshot built from the hot tier's rows */
  hotSnapshotBuilt: Latency;
  coldSnapshot: Latency;
  sqlSnapshot: Latency;
  /** SQL snapshot latency / hot-tier snapshot latency */
  ratioP50: number;
  ratioP99: number;
  /** SQL snapshot latency / snapshot built from hot rows */
  ratioBuiltP50: number;
  ratioBuiltP99: number;
  /** customers whose SQL answer was compared field by field with the live snapshot (all equal, else it throws) */
  verifiedCustomers: number;
  setupSeconds: number;
  loadAverage: number;
}

const TZ = 'Asia/Seoul';
const DAY_MS = 86_400_000;
const STORES = Array.from({ length: 50 }, (_, i) => `store-${String(i + 1).padStart(2, '0')}`);
const CATEGORIES = [
  'infant_formula',
  'beer',
  'diapers',
  'chicken',
  'ramen',
  'kimchi',
  'rice',
  'fruit',
  'vegetables',
  'beef',
  'pork',
  'seafood',
  'snacks',
  'soju',
  'wine',
  'coffee',
  'tea',
  'milk',
  'yogurt',
  'bread',
  'cosmetics',
  'shampoo',
  'detergent',
  'toys',
  'electronics',
  'clothing',
  'stationery',
  'frozen',
  'tofu',
  'eggs',
];

/** One customer's history: heavy-tailed activity at home stores and online. */
function historyOf(
  customerId: string,
  count: number,
  rnd: () => number,
  at: () => number,
  startSeq: number,
): AcceptedEvent[] {
  const homes = [STORES[Math.floor(rnd() * STORES.length)], STORES[Math.floor(rnd() * STORES.length)]];
  const favourites = Array.from({ length: 6 }, () => CATEGORIES[Math.floor(rnd() * CATEGORIES.length)]);
  const category = () =>
    rnd() < 0.7
      ? favourites[Math.floor(rnd() * favourites.length)]
      : CATEGORIES[Math.floor(rnd() * CATEGORIES.length)];
  const events: AcceptedEvent[] = [];
  for (let k = 0; k < count; k++) {
    const occurredAtMs = at();
    const base = {
      id: `h-${startSeq + k}`,
      customerId,
      occurredAt: new Date(occurredAtMs).toISOString(),
      occurredAtMs,
      receivedAtMs: occurredAtMs,
    };
    const r = rnd();
    if (r < 0.45) {
      const store = homes[rnd() < 0.8 ? 0 : 1];
      if (rnd() < 0.7)
        events.push({
          ...base,
          type: 'purchase',
          channel: 'pos',
          storeId: store,
          payload: basket(rnd, category),
        });
      else events.push({ ...base, type: 'visit', channel: 'pos', storeId: store, payload: {} });
    } else if (r < 0.55) {
      events.push({
        ...base,
        type: 'purchase',
        channel: rnd() < 0.6 ? 'app' : 'web',
        payload: basket(rnd, category),
      });
    } else {
      const channel = rnd() < 0.6 ? 'app' : 'web';
      const t = rnd();
      if (t < 0.35) events.push({ ...base, type: 'page_view', channel, payload: { url: '/p' } });
      else if (t < 0.7)
        events.push({ ...base, type: 'product_view', channel, payload: { sku: 's', category: category() } });
      else if (t < 0.85)
        events.push({ ...base, type: 'cart', channel, payload: { sku: 's', category: category() } });
      else events.push({ ...base, type: 'app_open', channel: 'app', payload: {} });
    }
  }
  return events;
}

function basket(rnd: () => number, category: () => string): Record<string, unknown> {
  const items = Array.from({ length: 1 + Math.floor(rnd() * 6) }, (_, i) => ({
    sku: `sku-${i}`,
    category: category(),
    quantity: 1 + Math.floor(rnd() * 4),
    unitPrice: 100 * (10 + Math.floor(rnd() * 490)),
  }));
  return { amount: items.reduce((s, l) => s + l.quantity * l.unitPrice, 0), currency: 'KRW', items };
}

// ── the old way ──────────────────────────────────────────────────────────────────────────────────────────

const SQL_SCHEMA = `
CREATE TABLE events (
  event_id    text PRIMARY KEY,
  customer_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  type        text NOT NULL,
  channel     text NOT NULL,
  store_id    text,
  amount      double precision,
  items       jsonb,
  category    text
)`;

/** Every window of every dim, from the raw events of one customer: what a SQL system computes per request. */
const windowColumns = [7, 30, 90, 365]
  .map(
    (w) => `
  coalesce(sum(spend) FILTER (WHERE type = 'purchase' AND day > $4::date - ${w}), 0) AS spend_${w},
  count(*) FILTER (WHERE type = 'purchase' AND day > $4::date - ${w}) AS purchases_${w},
  count(DISTINCT (day, store_id)) FILTER (WHERE type IN ('visit', 'purchase') AND store_id IS NOT NULL AND day > $4::date - ${w}) AS visits_${w},
  coalesce(sum(items) FILTER (WHERE day > $4::date - ${w}), 0) AS items_${w},
  count(*) FILTER (WHERE day > $4::date - ${w}) AS events_${w}`,
  )
  .join(',');

const SQL_SNAPSHOT = `
WITH ev AS (
  SELECT event_id, type, channel, store_id, amount, items, category, (occurred_at AT TIME ZONE '${TZ}')::date AS day
  FROM events WHERE customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3
), lines AS (
  SELECT ev.event_id, ev.day, ev.store_id, li->>'category' AS category,
         sum((li->>'quantity')::int) AS qty, sum((li->>'quantity')::int * (li->>'unitPrice')::float8) AS spend
  FROM ev, jsonb_array_elements(ev.items) li WHERE ev.type = 'purchase' GROUP BY 1, 2, 3, 4
), totals AS (
  SELECT ev.*, CASE WHEN type = 'purchase' THEN amount ELSE 0 END AS spend,
         (SELECT coalesce(sum((li->>'quantity')::int), 0) FROM jsonb_array_elements(CASE WHEN type = 'purchase' THEN items ELSE '[]'::jsonb END) li) AS items_n
  FROM ev
), facts AS (
  SELECT 'all' AS dim, day, type, store_id, spend, items_n AS items FROM totals
  UNION ALL SELECT 'store:' || store_id, day, type, store_id, spend, items_n FROM totals WHERE store_id IS NOT NULL
  UNION ALL SELECT 'channel:' || channel, day, type, store_id, spend, items_n FROM totals
  UNION ALL SELECT 'category:' || category, day, 'purchase', store_id, spend, qty FROM lines
  UNION ALL SELECT 'category:' || category, day, type, NULL, 0, 0 FROM ev WHERE type IN ('product_view', 'cart') AND category IS NOT NULL
)
SELECT dim,${windowColumns},
  max(day) FILTER (WHERE type IN ('visit', 'purchase') AND store_id IS NOT NULL) AS last_visit_day,
  max(day) FILTER (WHERE type = 'purchase') AS last_purchase_day
FROM facts GROUP BY dim`;

const SQL_RECENT = `SELECT event_id, type, channel, occurred_at, store_id, amount FROM events WHERE customer_id = $1 ORDER BY occurred_at DESC, event_id LIMIT 20`;

interface SqlRow {
  dim: string;
  [column: string]: unknown;
}

async function sqlSnapshot(
  db: pg.ClientBase,
  customerId: string,
  nowMs: number,
): Promise<{ rows: SqlRow[]; recent: unknown[] }> {
  const today = localDay(nowMs, TZ);
  const from = localDayRange(addDays(today, -364), TZ).startMs;
  const to = localDayRange(today, TZ).endMs;
  const [agg, recent] = await Promise.all([
    db.query<SqlRow>({
      name: 'snapshot',
      text: SQL_SNAPSHOT,
      values: [customerId, new Date(from), new Date(to), today],
    }),
    db.query({ name: 'recent', text: SQL_RECENT, values: [customerId] }),
  ]);
  return { rows: agg.rows, recent: recent.rows };
}

function windowsOfSql(row: SqlRow): Windows {
  const w = (n: number): WindowTotals => ({
    spend: Number(row[`spend_${n}`]),
    purchases: Number(row[`purchases_${n}`]),
    visits: Number(row[`visits_${n}`]),
    items: Number(row[`items_${n}`]),
    events: Number(row[`events_${n}`]),
  });
  return { d7: w(7), d30: w(30), d90: w(90), d365: w(365) };
}

/** Throws unless the SQL answer has exactly the live snapshot's windows for every dim. */
function verify(customerId: string, rows: SqlRow[], ctx: ContextSnapshot): void {
  const expected = new Map<string, Windows>([['all', ctx.all]]);
  for (const [name, w] of Object.entries(ctx.store)) expected.set(`store:${name}`, w);
  for (const [name, w] of Object.entries(ctx.category)) expected.set(`category:${name}`, w);
  for (const [name, w] of Object.entries(ctx.channel)) expected.set(`channel:${name}`, w);
  const got = new Map(rows.map((r) => [r.dim, windowsOfSql(r)]));
  for (const [dim, w] of expected) {
    if (JSON.stringify(got.get(dim)) !== JSON.stringify(w)) {
      throw new Error(
        `SQL and the live snapshot disagree for ${customerId} ${dim}: sql ${JSON.stringify(got.get(dim))} live ${JSON.stringify(w)}`,
      );
    }
  }
  const extra = [...got.keys()].filter((d) => !expected.has(d));
  if (extra.length)
    throw new Error(`SQL has dims the live snapshot lacks for ${customerId}: ${extra.join(', ')}`);
}

// ── measuring ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A full collection before each timed phase: generating a million events leaves garbage whose major GC
 * would otherwise land inside whichever phase comes next — a pause of the bench, not of the code measured.
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

async function timed(
  n: number,
  fn: (i: number) => Promise<unknown>,
  before?: (i: number) => void,
): Promise<Latency> {
  collectGarbage();
  await new Promise((r) => setTimeout(r, 50));
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    before?.(i);
    const t0 = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return {
    samples: n,
    p50Ms: round(percentile(ms, 50), 4),
    p99Ms: round(percentile(ms, 99), 4),
    maxMs: round(ms[ms.length - 1] ?? NaN, 3),
  };
}

export async function runContextBench(opts: ContextBenchOptions = {}): Promise<ContextBenchFigures> {
  const log = opts.log ?? (() => undefined);
  const totalEvents = opts.events ?? 1_000_000;
  const customerCount = opts.customers ?? 5_000;
  const measuredCount = Math.min(opts.measured ?? 400, customerCount);
  const rnd = prng(opts.seed ?? 42);
  const nowMs = Date.now();
  const setupStarted = Date.now();

  // Heavy-tailed activity: a few customers with thousands of events, most with tens to hundreds.
  const weights = Array.from({ length: customerCount }, () => 1 / (0.04 + rnd()));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.max(1, Math.round((w / weightSum) * totalEvents)));
  const measuredIds = new Set<number>();
  while (measuredIds.size < measuredCount) measuredIds.add(Math.floor(rnd() * customerCount));

  const config = benchConfig();
  const cql = await benchKeyspace(config);
  const dbName = `nunchi_bench_${process.pid}`;
  const pgOptions = {
    host: process.env['PGHOST'] ?? '127.0.0.1',
    port: Number(process.env['PGPORT'] ?? 5432),
    user: process.env['PGUSER'] ?? 'postgres',
  };
  const admin = new pg.Client({ ...pgOptions, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  const pool = new pg.Pool({ ...pgOptions, database: dbName, max: 4 });
  // ENRICHED's personal part, the stored profiles and history are sealed under each customer's data key
  const keyring = new CustomerKeyring(new CustomerKeyRepository(cql), identityKeys(config), {
    maxEntries: config.domain.dataKeyCacheMaxEntries,
  });
  const customersRepo = new CustomerRepository(cql, keyring);
  const history = new ContextRepository(cql, config.domain.eventTtlDays * 86_400, keyring);
  try {
    await pool.query(SQL_SCHEMA);
    // Generate customer by customer; PostgreSQL gets every event, Cassandra the measured customers' histories.
    const measured: Array<{ id: string; events: AcceptedEvent[] }> = [];
    const pgInserts: Array<Promise<unknown>> = [];
    let buffer: AcceptedEvent[] = [];
    let seq = 0;
    const flush = (batch: AcceptedEvent[]) =>
      pool.query(
        `INSERT INTO events SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::jsonb[], $9::text[])`,
        [
          batch.map((e) => e.id),
          batch.map((e) => e.customerId),
          batch.map((e) => new Date(e.occurredAtMs)),
          batch.map((e) => e.type),
          batch.map((e) => e.channel),
          batch.map((e) => e.storeId ?? null),
          batch.map((e) => (e.type === 'purchase' ? (e.payload['amount'] as number) : null)),
          batch.map((e) => (e.type === 'purchase' ? JSON.stringify(e.payload['items']) : null)),
          batch.map((e) => (typeof e.payload['category'] === 'string' ? e.payload['category'] : null)),
        ],
      );
    for (let c = 0; c < customerCount; c++) {
      const id = `bc-${String(c).padStart(6, '0')}`;
      const events = historyOf(
        id,
        counts[c],
        rnd,
        () => nowMs - Math.floor(rnd() * 380 * DAY_MS) - 60_000,
        seq,
      );
      seq += events.length;
      if (measuredIds.has(c)) measured.push({ id, events });
      buffer.push(...events);
      if (buffer.length >= 5_000) {
        pgInserts.push(flush(buffer));
        buffer = [];
        if (pgInserts.length >= 4) await Promise.all(pgInserts.splice(0));
      }
    }
    if (buffer.length) pgInserts.push(flush(buffer));
    await Promise.all(pgInserts);
    log(
      `PostgreSQL: ${seq.toLocaleString()} events of ${customerCount.toLocaleString()} customers loaded; indexing`,
    );
    await pool.query('CREATE INDEX events_customer_time ON events (customer_id, occurred_at DESC)');
    await pool.query('ANALYZE events');

    const failed = await writeBatched(
      cql,
      (
        await mapBounded(measured, 16, async (m) =>
          history.historyWrites(m.events, await history.dataKey(m.id), TZ),
        )
      ).flatMap((writes) => chunk(writes, 40)),
      { groupsPerBatch: 1, concurrency: 32 },
    );
    if (failed.length)
      throw new Error(`Cassandra history load: ${failed.length} batches failed: ${failed[0].error.message}`);
    for (const m of measured) {
      await customersRepo.upsert(
        { id: m.id, age: 20 + (m.id.length % 50), region: REGIONS[0], attributes: {} },
        new Date(nowMs),
        true,
      );
    }
    const eventsPerMeasured = measured.reduce((a, m) => a + m.events.length, 0) / measured.length;
    log(
      `Cassandra: full history of ${measured.length} measured customers (${Math.round(eventsPerMeasured)} events each on average)`,
    );
    const setupSeconds = (Date.now() - setupStarted) / 1000;

    // The context service's own classes, wired as Nest wires them; ENRICHED is not published (no NATS here).
    const publisher = {
      persist: () => Promise.resolve({ seq: 0, duplicate: false, stream: 'ENRICHED' }),
    } as unknown as Publisher;
    const cache = new CustomerStateCache(config);

    const load = new LoadCustomerStateUseCase(config, cache, customersRepo, history, keyring);
    // Merges never happen in the bench (no event links two customers).
    const merges = new MergeCustomersUseCase(
      config,
      load,
      cache,
      customersRepo,
      history,
      new DecisionRepository(cql),
      new MergeRepository(cql),
      publisher,
      keyring,
    );
    // No campaign, hence no event pattern: the path every customer of a campaign without patterns takes.
    const noCampaigns = { current: new CampaignSet([]) } as CampaignSetHolder;
    const apply = new ApplyEventUseCase(
      config,
      load,
      cache,
      customersRepo,
      history,
      publisher,
      merges,
      noCampaigns,
      keyring,
    );
    const getContext = new GetContextUseCase(config, load);
    const ids = measured.map((m) => m.id);
    const pick = () => ids[Math.floor(rnd() * ids.length)];

    // Cold: each customer read once with an empty hot tier (after a warm-up pass for the JIT).
    for (const id of ids.slice(0, 50)) await getContext.execute(id);
    cache.clear();
    const coldSnapshot = await timed(ids.length, (i) => getContext.execute(ids[i]));
    const rowsPerMeasured = ids.reduce((a, id) => a + (cache.get(id)?.rows.length ?? 0), 0) / ids.length;

    // The SQL way answers the same as the live path (before any update, both hold the same history).
    const db = await pool.connect();
    let verified = 0;
    try {
      for (const id of ids.slice(0, 60)) {
        const at = Date.now();
        const live = await getContext.execute(id, undefined, at);
        const sql = await sqlSnapshot(db, id, at);
        verify(id, sql.rows, live.ctx);
        verified++;
      }
      log(`SQL and the live path agree on every window of every dim for ${verified} customers`);

      const hotSnapshot = await timed(opts.snapshots ?? 20_000, () => getContext.execute(pick(), STORES[0]));
      // The first read after a write: the snapshot is built from the hot rows (the memo is gone).
      let next = pick();
      const hotSnapshotBuilt = await timed(
        opts.snapshots ?? 20_000,
        () => getContext.execute(next, STORES[0]),
        () => {
          next = pick();
          const state = cache.get(next);
          if (state) state.snapshot = undefined;
        },
      );

      let u = 0;
      const updateAndSnapshot = await timed(opts.updates ?? 2_000, () => {
        const id = pick();
        // A new event of today (ids unique to this run), of the same mix as the history.
        const [event] = historyOf(id, 1, rnd, () => Date.now() - 1_000, 0).map((e) => ({
          ...e,
          id: `u-${process.pid}-${u++}`,
        }));
        const delivery: Delivery<AcceptedEvent> = {
          body: event,
          subject: 'mkt.events.0.x',
          seq: u,
          deliveryCount: 1,
          redelivered: false,
          header: () => undefined,
        };
        return apply.execute(delivery);
      });

      for (const id of ids) await sqlSnapshot(db, id, Date.now()); // warm: shared buffers and plans
      const sqlSnapshotLatency = await timed(opts.sqlQueries ?? 2_000, () =>
        sqlSnapshot(db, pick(), Date.now()),
      );

      return {
        historicalEvents: seq,
        customers: customerCount,
        measuredCustomers: ids.length,
        eventsPerMeasuredCustomer: Math.round(eventsPerMeasured),
        rowsPerMeasuredCustomer: Math.round(rowsPerMeasured),
        updateAndSnapshot,
        hotSnapshot,
        hotSnapshotBuilt,
        coldSnapshot,
        sqlSnapshot: sqlSnapshotLatency,
        ratioP50: round(sqlSnapshotLatency.p50Ms / hotSnapshot.p50Ms, 1),
        ratioP99: round(sqlSnapshotLatency.p99Ms / hotSnapshot.p99Ms, 1),
        ratioBuiltP50: round(sqlSnapshotLatency.p50Ms / hotSnapshotBuilt.p50Ms, 1),
        ratioBuiltP99: round(sqlSnapshotLatency.p99Ms / hotSnapshotBuilt.p99Ms, 1),
        verifiedCustomers: verified,
        setupSeconds: round(setupSeconds, 1),
        loadAverage: round(loadavg()[0], 1),
      };
    } finally {
      db.release();
    }
  } finally {
    await pool.end();
    if (!opts.keep) {
      await admin
        .query(`DROP DATABASE IF EXISTS ${dbName}`)
        .catch((e: Error) => log(`could not drop ${dbName}: ${e.message}`));
      await dropBenchKeyspace(cql, config).catch((e: Error) =>
        log(`could not drop the bench keyspace: ${e.message}`),
      );
    }
    await admin.end();
    await cql.shutdown();
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function line(label: string, l: Latency): string {
  return `  ${label.padEnd(52)} ${l.p50Ms.toFixed(3).padStart(8)} ms ${l.p99Ms.toFixed(3).padStart(9)} ms   (${l.samples.toLocaleString()} samples, max ${l.maxMs} ms)`;
}

/** The figures as the table `npm run bench:context` and `npm run bench` print. */
export function formatContextBench(f: ContextBenchFigures): string {
  const out: string[] = [];
  out.push(
    `\nContext benchmark — ${f.historicalEvents.toLocaleString()} historical events of ${f.customers.toLocaleString()} customers; ` +
      `${f.measuredCustomers} measured (${f.eventsPerMeasuredCustomer} events, ${f.rowsPerMeasuredCustomer} rollup rows each on average)`,
  );
  out.push(`${''.padEnd(54)}      p50          p99`);
  out.push('live path: Cassandra wide rows + hot tier');
  out.push(line('update + snapshot per event (warm)', f.updateAndSnapshot));
  out.push(line('snapshot from the hot tier (as served)', f.hotSnapshot));
  out.push(line('snapshot built from hot rows (first read after a write)', f.hotSnapshotBuilt));
  out.push(line('snapshot on a miss (cold read from Cassandra)', f.coldSnapshot));
  out.push('the old way: SQL over a raw events table (PostgreSQL)');
  out.push(line('snapshot: aggregate query + 20 recent events', f.sqlSnapshot));
  out.push(
    `hot tier vs SQL: ${f.ratioP50}× faster at p50, ${f.ratioP99}× at p99; built from hot rows: ${f.ratioBuiltP50}× at p50, ${f.ratioBuiltP99}× at p99 ` +
      `(same answers: verified on ${f.verifiedCustomers} customers)`,
  );
  out.push(`setup ${f.setupSeconds} s, load average ${f.loadAverage} (2 shared cores)`);
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { flags } = benchArgs(
    'usage: node dist/bench/context.js [--quick] [--keep]\n  --quick  a smaller history (a smoke run)\n  --keep   keep the bench keyspace and PostgreSQL tables afterwards',
    { quick: 'flag', keep: 'flag' },
  );
  const quick = flags['quick'] === true;
  const started = Date.now();
  const f = await runContextBench({
    ...(quick
      ? { events: 100_000, customers: 1_000, measured: 100, updates: 300, snapshots: 3_000, sqlQueries: 300 }
      : {}),
    keep: flags['keep'] === true,
    log: (l) => console.log(`· ${l}`),
  });
  console.log(formatContextBench(f));
  console.log(
    `setup ${f.setupSeconds} s, whole run ${((Date.now() - started) / 1000).toFixed(0)} s, load average ${f.loadAverage} (2 shared cores)`,
  );
  console.log(JSON.stringify(f));
}
