/**
 * Micro-benchmarks a bench script can call. Pure: the clock comes in (`() => performance.now()`), the data is
 * synthetic and deterministic.
 */
import type { AcceptedEvent } from '@nunchi/contracts';
import { rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
import { localDay } from './local-day.js';
import { buildSnapshot } from './snapshot.js';

/** a clock in milliseconds, e.g. () => performance.now() */
export type BenchClock = () => number;

export interface BenchResult {
  name: string;
  /** rollup rows (snapshot) or events (rollup) per operation */
  size: number;
  iterations: number;
  /** wall time of the measured iterations, ms */
  totalMs: number;
  /** mean time per operation, µs */
  meanUs: number;
  /** a value derived from every result, so the work cannot be optimised away */
  checksum: number;
}

export interface BenchOptions {
  /** active (shopping) days within the last 365 @default 100 */
  activeDays?: number;
  /** categories per purchase: rows per active day are all + store + channel + this many @default 5 */
  categoriesPerPurchase?: number;
  /** @default 20_000 */
  iterations?: number;
  /** untimed iterations first, to let the JIT settle @default 2_000 */
  warmup?: number;
}

const TZ = 'Asia/Seoul';
const NOW_MS = Date.UTC(2026, 10, 24, 10, 5); // 2026-11-24T19:05+09:00
const CATEGORIES = [
  'beer',
  'chicken',
  'cola',
  'diapers',
  'eggs',
  'fruit',
  'infant_formula',
  'kimchi',
  'milk',
  'noodles',
  'rice',
  'snacks',
  'soju',
  'tofu',
  'water',
];
const STORES = ['bundang-01', 'bundang-02', 'pangyo-01'];

/** deterministic 32-bit LCG (Numerical Recipes constants) */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 4_294_967_296;
}

/** One purchase (with `categories` categories) and one visit on each of `activeDays` days spread over a year. */
export function syntheticHistory(
  activeDays: number,
  categories: number,
  nowMs: number = NOW_MS,
): AcceptedEvent[] {
  const rnd = lcg(42);
  const events: AcceptedEvent[] = [];
  for (let d = 0; d < activeDays; d++) {
    const at =
      nowMs - Math.floor((d * 364) / Math.max(1, activeDays)) * 86_400_000 - Math.floor(rnd() * 3_600_000);
    const storeId = STORES[Math.floor(rnd() * STORES.length)];
    const first = Math.floor(rnd() * CATEGORIES.length);
    const items = Array.from({ length: categories }, (_, i) => ({
      sku: `sku-${i}`,
      category: CATEGORIES[(first + i) % CATEGORIES.length],
      quantity: 1 + Math.floor(rnd() * 3),
      unitPrice: 1000 * (1 + Math.floor(rnd() * 30)),
    }));
    const amount = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
    const base = {
      channel: 'pos',
      customerId: 'c-bench',
      storeId,
      receivedAtMs: at,
      occurredAt: new Date(at).toISOString(),
      occurredAtMs: at,
    };
    events.push({ ...base, id: `v-${d}`, type: 'visit', payload: {} });
    events.push({ ...base, id: `p-${d}`, type: 'purchase', payload: { amount, currency: 'KRW', items } });
  }
  return events;
}

function run(
  name: string,
  size: number,
  clock: BenchClock,
  iterations: number,
  warmup: number,
  op: () => number,
): BenchResult {
  let checksum = 0;
  for (let i = 0; i < warmup; i++) checksum += op();
  const t0 = clock();
  for (let i = 0; i < iterations; i++) checksum += op();
  const totalMs = clock() - t0;
  return { name, size, iterations, totalMs, meanUs: (totalMs * 1000) / iterations, checksum };
}

/** Time buildSnapshot over ~activeDays × (3 + categoriesPerPurchase) rows (defaults: 100 × 8 = 800). */
export function benchSnapshot(clock: BenchClock, options: BenchOptions = {}): BenchResult {
  const rows: DailyRollup[] = rollupEvents(
    syntheticHistory(options.activeDays ?? 100, options.categoriesPerPurchase ?? 5),
    TZ,
  );
  const input = {
    customerId: 'c-bench',
    rows,
    recent: [],
    nowMs: NOW_MS,
    timeZone: TZ,
    currentStoreId: STORES[0],
  };
  return run(
    'buildSnapshot',
    rows.length,
    clock,
    options.iterations ?? 20_000,
    options.warmup ?? 2_000,
    () => {
      const s = buildSnapshot(input);
      return s.all.d365.spend + s.rfm.r;
    },
  );
}

/** Time rollupDay recomputing one day of `eventsPerDay` events (what the context service does on each event). */
export function benchRollupDay(
  clock: BenchClock,
  eventsPerDay = 20,
  options: BenchOptions = {},
): BenchResult {
  const events = syntheticHistory(1, options.categoriesPerPurchase ?? 5);
  const day = localDay(events[0].occurredAtMs, TZ);
  const many: AcceptedEvent[] = [];
  for (let i = 0; i < eventsPerDay; i++) many.push({ ...events[i % events.length], id: `e-${i}` });
  return run(
    'rollupDay',
    many.length,
    clock,
    options.iterations ?? 20_000,
    options.warmup ?? 2_000,
    () => rollupDay(many, day, TZ).length,
  );
}
