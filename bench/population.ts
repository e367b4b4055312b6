/**
 * A seeded synthetic hypermarket: customers, stores, a catalogue and the events they make. The same seed
 * gives the same population and the same event sequence, so runs compare.
 */

import type { AcceptedEvent } from '@nunchi/contracts';
import { prng } from '@nunchi/testing';

export { prng };

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)];

/** Weighted pick: weights need not sum to 1. */
function weighted<T>(rnd: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rnd() * total;
  for (const [item, w] of items) if ((r -= w) < 0) return item;
  return items[items.length - 1][0];
}

export const REGIONS = [
  ['Bundang', 18],
  ['Seoul-Gangnam', 14],
  ['Seoul-Mapo', 10],
  ['Suwon', 12],
  ['Yongin', 10],
  ['Incheon', 12],
  ['Goyang', 9],
  ['Busan', 8],
  ['Daegu', 7],
] as const;
export const STORES = [
  'bundang-01',
  'bundang-02',
  'gangnam-01',
  'mapo-01',
  'suwon-01',
  'yongin-01',
  'incheon-01',
  'goyang-01',
  'busan-01',
  'daegu-01',
] as const;

/** category → [min, max] unit price in KRW, and how often it is in a basket */
export const CATALOGUE: ReadonlyArray<readonly [string, number, number, number]> = [
  ['produce', 1500, 9000, 30],
  ['dairy', 1800, 7000, 22],
  ['bakery', 2000, 8000, 15],
  ['meat', 8000, 45000, 14],
  ['seafood', 9000, 40000, 8],
  ['beer', 2500, 6000, 10],
  ['wine', 12000, 90000, 4],
  ['soju', 1500, 2500, 8],
  ['snacks', 1200, 5000, 18],
  ['instant_food', 900, 6000, 16],
  ['infant_formula', 25000, 42000, 3],
  ['diapers', 15000, 38000, 3],
  ['household', 3000, 25000, 9],
  ['cosmetics', 8000, 60000, 4],
  ['electronics', 30000, 400000, 1],
  ['cheese', 5000, 22000, 3],
];

export interface SyntheticCustomer {
  id: string;
  age: number;
  gender: 'M' | 'F';
  region: string;
  creditTier: string;
  marketingConsent: boolean;
  loyaltyCard: string;
  attributes: Record<string, string>;
}

export function customers(count: number, seed: number): SyntheticCustomer[] {
  const rnd = prng(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: `b-${String(i).padStart(7, '0')}`,
    age: 20 + Math.floor(rnd() * 55),
    gender: rnd() < 0.48 ? 'M' : 'F',
    region: weighted(rnd, REGIONS),
    creditTier: weighted(rnd, [
      ['A', 15],
      ['B', 35],
      ['C', 35],
      ['D', 15],
    ] as const),
    marketingConsent: rnd() < 0.8,
    loyaltyCard: `BLC-${i}`,
    attributes: { segment: pick(rnd, ['young-family', 'single', 'senior', 'student', 'business']) },
  }));
}

export type EventKind = 'purchase' | 'visit' | 'product_view' | 'app_open' | 'cart';
export const EVENT_MIX: ReadonlyArray<readonly [EventKind, number]> = [
  ['purchase', 50],
  ['visit', 20],
  ['product_view', 15],
  ['app_open', 10],
  ['cart', 5],
];

/**
 * How often each customer comes: Zipf–Mandelbrot over a seeded ranking, the customer of rank k (1-based)
 * weighing 1 / (k + q)^s. With s = 1 and q = population / 50 the top 1 % of customers make about a tenth of
 * the events, the top fifth about three in five, and a long tail is rarely seen at all — the shape of a
 * hypermarket's loyalty base, and what decides whether a hot tier pays.
 */
export class VisitFrequency {
  /** cumulative weights by rank, normalised to end at 1 */
  private readonly cumulative: Float64Array;
  /** rank (0-based) → index in the population */
  private readonly byRank: Uint32Array;
  /** index in the population → weight relative to the mean (mean 1) */
  private readonly relative: Float64Array;

  constructor(count: number, seed: number, shape: { s?: number; q?: number } = {}) {
    const s = shape.s ?? 1;
    const q = shape.q ?? 10;
    const rnd = prng(seed ^ 0x2f6b3c1d);
    this.byRank = Uint32Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [this.byRank[i], this.byRank[j]] = [this.byRank[j], this.byRank[i]];
    }
    const weights = Float64Array.from({ length: count }, (_, k) => 1 / Math.pow(k + 1 + q, s));
    const total = weights.reduce((a, w) => a + w, 0);
    this.cumulative = new Float64Array(count);
    this.relative = new Float64Array(count);
    let sum = 0;
    for (let k = 0; k < count; k++) {
      sum += weights[k] / total;
      this.cumulative[k] = sum;
      this.relative[this.byRank[k]] = (weights[k] / total) * count;
    }
    this.cumulative[count - 1] = 1;
  }

  get size(): number {
    return this.cumulative.length;
  }

  /** A customer index drawn by visit frequency. */
  pick(rnd: () => number): number {
    const r = rnd();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return this.byRank[lo];
  }

  /** The customer's visit frequency relative to the mean customer (the mean is 1). */
  weight(index: number): number {
    return this.relative[index];
  }

  /** Share of all events made by the most frequent `fraction` of customers (0..1). */
  shareOfTop(fraction: number): number {
    return this.cumulative[Math.max(0, Math.ceil(fraction * this.cumulative.length) - 1)];
  }
}

/** An event as ingestion stores it, for history written straight to Cassandra. */
export type HistoryEvent = AcceptedEvent & { type: EventKind };

/**
 * Makes events: the customer by visit frequency (VisitFrequency), the kind by EVENT_MIX. Frequent customers
 * buy often, so caps and the contact policy (3 offers a day by default) turn many of their purchases into
 * "none" decisions — as in a real store.
 */
export class EventFactory {
  private readonly rnd: () => number;
  private seq = 0;

  constructor(
    private readonly population: SyntheticCustomer[],
    private readonly frequency: VisitFrequency,
    seed: number,
    private readonly runTag: string,
  ) {
    this.rnd = prng(seed ^ 0x5bd1e995);
  }

  next(occurredAt: string): { kind: EventKind; body: Record<string, unknown> } {
    const kind = weighted(this.rnd, EVENT_MIX);
    const customer = this.population[this.frequency.pick(this.rnd)];
    return { kind, body: this.event(kind, customer, occurredAt, `${this.runTag}-${this.seq++}`) };
  }

  /**
   * `count` events of one customer spread uniformly over [fromMs, toMs), oldest first, as ingestion would
   * have accepted them: the months of history the live path finds in Cassandra.
   */
  history(customer: SyntheticCustomer, count: number, fromMs: number, toMs: number): HistoryEvent[] {
    const times = Array.from({ length: count }, () => fromMs + Math.floor(this.rnd() * (toMs - fromMs))).sort(
      (a, b) => a - b,
    );
    return times.map((occurredAtMs, k) => {
      const kind = weighted(this.rnd, EVENT_MIX);
      const occurredAt = new Date(occurredAtMs).toISOString();
      const body = this.event(kind, customer, occurredAt, `h-${customer.id}-${k}`);
      return {
        id: body['id'] as string,
        type: kind,
        channel: body['channel'] as string,
        occurredAt,
        occurredAtMs,
        receivedAtMs: occurredAtMs,
        customerId: customer.id,
        ...(body['storeId'] ? { storeId: body['storeId'] as string } : {}),
        payload: body['payload'] as Record<string, unknown>,
      };
    });
  }

  /** One event request body, as a channel adapter sends it to mkt.in.<channel>.<type>. */
  event(
    kind: EventKind,
    customer: SyntheticCustomer,
    occurredAt: string,
    id: string,
  ): Record<string, unknown> {
    const home = homeStore(customer) ?? pick(this.rnd, STORES);
    const storeId = this.rnd() < 0.8 ? home : pick(this.rnd, STORES);
    switch (kind) {
      case 'purchase': {
        const lines = 1 + Math.floor(this.rnd() * this.rnd() * 14);
        const items = Array.from({ length: lines }, () => {
          const [category, min, max] = weighted(
            this.rnd,
            CATALOGUE.map((c) => [c, c[3]] as const),
          );
          return {
            sku: `${category.slice(0, 3)}-${Math.floor(this.rnd() * 500)}`,
            category,
            quantity: 1 + Math.floor(this.rnd() * this.rnd() * 4),
            unitPrice: Math.round((min + this.rnd() * (max - min)) / 100) * 100,
          };
        });
        const amount = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
        return {
          id,
          type: 'purchase',
          channel: 'pos',
          occurredAt,
          customer: { id: customer.id },
          storeId,
          payload: { amount, currency: 'KRW', items },
        };
      }
      case 'visit':
        return {
          id,
          type: 'visit',
          channel: 'pos',
          occurredAt,
          customer: { id: customer.id },
          storeId,
          payload: {},
        };
      case 'product_view':
      case 'cart': {
        const [category, min, max] = pick(this.rnd, CATALOGUE);
        const sku = `${category.slice(0, 3)}-${Math.floor(this.rnd() * 500)}`;
        const price = Math.round((min + this.rnd() * (max - min)) / 100) * 100;
        const payload =
          kind === 'cart'
            ? { action: 'add', sku, category, quantity: 1, unitPrice: price }
            : { sku, category, price };
        return { id, type: kind, channel: 'web', occurredAt, customer: { id: customer.id }, payload };
      }
      case 'app_open':
        return {
          id,
          type: 'app_open',
          channel: 'app',
          occurredAt,
          customer: { id: customer.id },
          payload: { platform: pick(this.rnd, ['ios', 'android']) },
        };
    }
  }
}

/** The store in the customer's region, if there is one. */
export const homeStore = (customer: SyntheticCustomer): string | undefined =>
  STORES.find((s) => s.startsWith(customer.region.toLowerCase().split('-')[0]));

/** The example campaigns the benchmarks apply beside the store promotions (campaigns/examples/). */
export const EXAMPLE_CAMPAIGNS = [
  'bundang-dad-beer.yaml',
  'app-winback-30d.yaml',
  'web-wine-cheese-cross-sell.yaml',
];

/**
 * Big-shop promotions, one per store × category: the category in a basket of at least this much (KRW). About a
 * fifth of purchases meet one's condition at their store; audiences, the holdout, caps and the contact policy
 * leave offers on roughly one purchase in six or seven.
 */
export function storePromotions(): Array<Record<string, unknown> & { id: string }> {
  const promos: Array<[string, number]> = [
    ['meat', 150000],
    ['seafood', 120000],
    ['wine', 90000],
    ['cosmetics', 120000],
    ['household', 90000],
  ];
  return STORES.flatMap((store, s) =>
    promos.map(([category, minimum], c) => ({
      id: `promo-${store}-${category}`,
      name: `${store}: ${category} promotion`,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [store] },
      audience:
        c % 2 ? 'customer.age >= 30 && ctx.all.d90.purchases >= 1' : "customer.creditTier in ['A', 'B', 'C']",
      condition: `'${category}' in event.categories && event.amount >= ${minimum}`,
      offers: [
        {
          id: `${category}-double`,
          title: `Double points on ${category}`,
          value: 4000,
          cost: 2000,
          when: 'ctx.thisStore.d90.visits >= 2',
        },
        { id: `${category}-coupon`, title: `10% off ${category} next time`, value: 3000, cost: 1500 },
      ],
      caps: { perCustomerPerDay: 1 },
      budget: { maxOffers: 1_000_000 },
      holdoutPercent: 10,
      priority: 10 + ((s * 5 + c) % 30),
      schedule: { timezone: 'Asia/Seoul' },
    })),
  );
}
