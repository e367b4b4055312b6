/**
 * A seeded synthetic hypermarket: customers, stores, a catalogue and the events they make. The same seed
 * gives the same population and the same event sequence, so runs compare.
 */

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

export const REGIONS = [['Bundang', 18], ['Seoul-Gangnam', 14], ['Seoul-Mapo', 10], ['Suwon', 12], ['Yongin', 10], ['Incheon', 12], ['Goyang', 9], ['Busan', 8], ['Daegu', 7]] as const;
export const STORES = ['bundang-01', 'bundang-02', 'gangnam-01', 'mapo-01', 'suwon-01', 'yongin-01', 'incheon-01', 'goyang-01', 'busan-01', 'daegu-01'] as const;

/** category → [min, max] unit price in KRW, and how often it is in a basket */
export const CATALOGUE: ReadonlyArray<readonly [string, number, number, number]> = [
  ['produce', 1500, 9000, 30], ['dairy', 1800, 7000, 22], ['bakery', 2000, 8000, 15], ['meat', 8000, 45000, 14],
  ['seafood', 9000, 40000, 8], ['beer', 2500, 6000, 10], ['wine', 12000, 90000, 4], ['soju', 1500, 2500, 8],
  ['snacks', 1200, 5000, 18], ['instant_food', 900, 6000, 16], ['infant_formula', 25000, 42000, 3], ['diapers', 15000, 38000, 3],
  ['household', 3000, 25000, 9], ['cosmetics', 8000, 60000, 4], ['electronics', 30000, 400000, 1], ['cheese', 5000, 22000, 3],
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
    creditTier: weighted(rnd, [['A', 15], ['B', 35], ['C', 35], ['D', 15]] as const),
    marketingConsent: rnd() < 0.8,
    loyaltyCard: `BLC-${i}`,
    attributes: { segment: pick(rnd, ['young-family', 'single', 'senior', 'student', 'business']) },
  }));
}

export type EventKind = 'purchase' | 'visit' | 'product_view' | 'app_open' | 'cart';
export const EVENT_MIX: ReadonlyArray<readonly [EventKind, number]> = [['purchase', 50], ['visit', 20], ['product_view', 15], ['app_open', 10], ['cart', 5]];

/**
 * Makes events. Purchases go round-robin over the population so no customer buys more than
 * ⌈purchases / population⌉ times in a run (the default contact policy allows 3 offers a day).
 */
export class EventFactory {
  private readonly rnd: () => number;
  private purchases = 0;
  private seq = 0;

  constructor(
    private readonly population: SyntheticCustomer[],
    seed: number,
    private readonly runTag: string,
  ) {
    this.rnd = prng(seed ^ 0x5bd1e995);
  }

  next(occurredAt: string): { kind: EventKind; body: Record<string, unknown> } {
    const kind = weighted(this.rnd, EVENT_MIX);
    const id = `${this.runTag}-${this.seq++}`;
    const customer =
      kind === 'purchase' ? this.population[this.purchases++ % this.population.length] : this.population[Math.floor(this.rnd() * this.population.length)];
    const home = STORES.find((s) => s.startsWith(customer.region.toLowerCase().split('-')[0])) ?? pick(this.rnd, STORES);
    const storeId = this.rnd() < 0.8 ? home : pick(this.rnd, STORES);
    switch (kind) {
      case 'purchase': {
        const lines = 1 + Math.floor(this.rnd() * this.rnd() * 14);
        const items = Array.from({ length: lines }, () => {
          const [category, min, max] = weighted(this.rnd, CATALOGUE.map((c) => [c, c[3]] as const));
          return { sku: `${category.slice(0, 3)}-${Math.floor(this.rnd() * 500)}`, category, quantity: 1 + Math.floor(this.rnd() * this.rnd() * 4), unitPrice: Math.round((min + this.rnd() * (max - min)) / 100) * 100 };
        });
        const amount = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
        return { kind, body: { id, type: 'purchase', channel: 'pos', occurredAt, customer: { id: customer.id }, storeId, payload: { amount, currency: 'KRW', items } } };
      }
      case 'visit':
        return { kind, body: { id, type: 'visit', channel: 'pos', occurredAt, customer: { id: customer.id }, storeId, payload: {} } };
      case 'product_view':
      case 'cart': {
        const [category, min, max] = pick(this.rnd, CATALOGUE);
        const sku = `${category.slice(0, 3)}-${Math.floor(this.rnd() * 500)}`;
        const price = Math.round((min + this.rnd() * (max - min)) / 100) * 100;
        const payload = kind === 'cart' ? { action: 'add', sku, category, quantity: 1, unitPrice: price } : { sku, category, price };
        return { kind, body: { id, type: kind, channel: 'web', occurredAt, customer: { id: customer.id }, payload } };
      }
      case 'app_open':
        return { kind, body: { id, type: 'app_open', channel: 'app', occurredAt, customer: { id: customer.id }, payload: { platform: pick(this.rnd, ['ios', 'android']) } } };
    }
  }
}
