/**
 * The daily rollup: one customer's totals for one local day, per dimension. A day's rollups, every dim, are
 * stored together as one `customer_days` row (libs/cassandra day-totals.ts).
 *
 * The rollup of a day is a pure function of that day's events, and is always recomputed from all of them
 * (never incremented), so it is exact under redelivery, duplicates and late or out-of-order events.
 */
import { eventKey } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { dayFromIndex, dayIndex } from './day-index.js';
import {
  categoryDim,
  channelDim,
  DIM_ALL,
  OFFER_RESPONSES,
  responseDim,
  storeDim,
  type OfferResponse,
} from './dims.js';
import { localDayIndex } from './local-day.js';

export interface DailyRollup {
  /** local day 'YYYY-MM-DD' in the business time zone */
  day: string;
  /** 'all' | 'store:<storeId>' | 'category:<category>' | 'channel:<channel>' (see dims.ts) */
  dim: string;
  /** money spent, in the currency's major unit (KRW): purchase amounts; for a category, Σ quantity × unitPrice of its items */
  spend: number;
  /** number of purchase events (for a category: purchases containing at least one of its items) */
  purchases: number;
  /** number of distinct stores visited (visit or purchase event with a storeId) that day: 0 or 1 for a store */
  visits: number;
  /** number of items bought: Σ line-item quantities */
  items: number;
  /** number of events of any type that touch this dim */
  events: number;
  /** epoch ms of the day's latest event that counted as a visit here (absent when visits = 0) */
  lastVisitMs?: number;
  /** epoch ms of the day's latest purchase that counted here (absent when purchases = 0) */
  lastPurchaseMs?: number;
}

interface Acc {
  dim: string;
  spend: number;
  purchases: number;
  items: number;
  events: number;
  stores: Set<string> | undefined;
  lastVisitMs: number;
  lastPurchaseMs: number;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Purchase line items grouped by category, in first-seen order. Tolerates malformed payloads (counts 0). */
function purchaseLines(payload: Record<string, unknown>): {
  amount: number;
  items: number;
  categories: Map<string, { spend: number; items: number }>;
} {
  const categories = new Map<string, { spend: number; items: number }>();
  let items = 0;
  const lines = payload['items'];
  if (Array.isArray(lines)) {
    for (const line of lines as unknown[]) {
      if (line === null || typeof line !== 'object') continue;
      const l = line as Record<string, unknown>;
      const quantity = num(l['quantity']);
      items += quantity;
      const category = l['category'];
      if (typeof category !== 'string' || category === '') continue;
      let c = categories.get(category);
      if (c === undefined) categories.set(category, (c = { spend: 0, items: 0 }));
      c.spend += quantity * num(l['unitPrice']);
      c.items += quantity;
    }
  }
  return { amount: num(payload['amount']), items, categories };
}

/**
 * The dim an offer_response counts on: its answer and the campaign of the decision it answers (ingestion sets
 * payload.campaignId from the stored decision), if both are there.
 */
function responseOf(e: AcceptedEvent): string | undefined {
  if (e.type !== 'offer_response') return undefined;
  const response = e.payload['response'];
  const campaignId = e.payload['campaignId'];
  if (typeof campaignId !== 'string' || campaignId === '') return undefined;
  if (!(OFFER_RESPONSES as readonly unknown[]).includes(response)) return undefined;
  return responseDim(response as OfferResponse, campaignId);
}

/** The category a product_view or cart event is about, if any. */
function interestCategory(e: AcceptedEvent): string | undefined {
  if (e.type !== 'product_view' && e.type !== 'cart') return undefined;
  const c = e.payload['category'];
  return typeof c === 'string' && c !== '' ? c : undefined;
}

function byKeyThenReceipt(a: AcceptedEvent, b: AcceptedEvent): number {
  const ka = eventKey(a);
  const kb = eventKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.receivedAtMs !== b.receivedAtMs) return a.receivedAtMs - b.receivedAtMs;
  return a.occurredAtMs - b.occurredAtMs;
}

/**
 * One copy per event (channel and id: eventKey; the earliest received), ordered by key — so float sums do not
 * depend on input order.
 */
function uniqueByKey(events: readonly AcceptedEvent[]): AcceptedEvent[] {
  const sorted = [...events].sort(byKeyThenReceipt);
  const out: AcceptedEvent[] = [];
  for (const e of sorted) if (out.length === 0 || eventKey(out[out.length - 1]) !== eventKey(e)) out.push(e);
  return out;
}

function compareDim(a: { dim: string }, b: { dim: string }): number {
  return a.dim < b.dim ? -1 : a.dim > b.dim ? 1 : 0;
}

/** Roll up events already known to be of `day` (any order, duplicates allowed). Rows sorted by dim. */
function rollupGroup(events: readonly AcceptedEvent[], day: string): DailyRollup[] {
  const accs = new Map<string, Acc>();
  const acc = (dim: string): Acc => {
    let a = accs.get(dim);
    if (a === undefined) {
      a = {
        dim,
        spend: 0,
        purchases: 0,
        items: 0,
        events: 0,
        stores: undefined,
        lastVisitMs: -Infinity,
        lastPurchaseMs: -Infinity,
      };
      accs.set(dim, a);
    }
    return a;
  };
  const visit = (a: Acc, storeId: string, ms: number): void => {
    (a.stores ??= new Set()).add(storeId);
    if (ms > a.lastVisitMs) a.lastVisitMs = ms;
  };

  const answered = new Set<string>();
  for (const e of uniqueByKey(events)) {
    const ms = e.occurredAtMs;
    const storeId = e.storeId !== undefined && e.storeId !== '' ? e.storeId : undefined;
    const main: Acc[] = [acc(DIM_ALL), acc(channelDim(e.channel))];
    if (storeId !== undefined) main.push(acc(storeDim(storeId)));
    for (const a of main) a.events += 1;
    const isStoreVisit = storeId !== undefined && (e.type === 'visit' || e.type === 'purchase');
    if (isStoreVisit) for (const a of main) visit(a, storeId, ms);

    if (e.type === 'purchase') {
      const p = purchaseLines(e.payload);
      for (const a of main) {
        a.spend += p.amount;
        a.purchases += 1;
        a.items += p.items;
        if (ms > a.lastPurchaseMs) a.lastPurchaseMs = ms;
      }
      for (const [category, c] of p.categories) {
        const a = acc(categoryDim(category));
        a.events += 1;
        a.spend += c.spend;
        a.items += c.items;
        a.purchases += 1;
        if (ms > a.lastPurchaseMs) a.lastPurchaseMs = ms;
        if (isStoreVisit) visit(a, storeId, ms);
      }
    } else {
      const category = interestCategory(e);
      if (category !== undefined) acc(categoryDim(category)).events += 1;
      const response = responseOf(e);
      // The same answer to the same decision, sent again under a new event id, counts once.
      if (response !== undefined && !answered.has(`${response}|${String(e.payload['decisionId'])}`)) {
        answered.add(`${response}|${String(e.payload['decisionId'])}`);
        acc(response).events += 1;
      }
    }
  }

  const rows: DailyRollup[] = [];
  for (const a of accs.values()) {
    const row: DailyRollup = {
      day,
      dim: a.dim,
      spend: a.spend,
      purchases: a.purchases,
      visits: a.stores?.size ?? 0,
      items: a.items,
      events: a.events,
    };
    if (a.lastVisitMs !== -Infinity) row.lastVisitMs = a.lastVisitMs;
    if (a.lastPurchaseMs !== -Infinity) row.lastPurchaseMs = a.lastPurchaseMs;
    rows.push(row);
  }
  return rows.sort(compareDim);
}

/**
 * The rollup rows of one local day from that day's events: one row per dim the events touch, sorted by dim.
 * Events on other local days are ignored (so a read-back may be generous); repeated event ids count once;
 * the result does not depend on input order. No events → no rows.
 *
 * - every event: events += 1 on `all`, `channel:<channel>`, `store:<storeId>` (if any), and on
 *   `category:<c>` for the categories it is about (a purchase's item categories; product_view/cart payload.category),
 *   and an offer_response on `response:<answer>:<campaignId>` (see dims.ts)
 * - purchase: spend += amount, purchases += 1, items += Σ quantity on all / channel / store; on each of its
 *   categories spend += Σ quantity × unitPrice of that category's items, items += Σ their quantities, purchases += 1
 * - visit or purchase with a storeId is a store visit: visits = distinct such stores that day (store rows: 1);
 *   a category row counts the stores where it was bought, a channel row the stores visited through that channel
 *
 * @param day 'YYYY-MM-DD', local in `timeZone`
 * @param timeZone the business IANA time zone (e.g. 'Asia/Seoul'); all rollups must use the same one
 */
export function rollupDay(events: readonly AcceptedEvent[], day: string, timeZone: string): DailyRollup[] {
  const index = dayIndex(day);
  const ofDay = events.filter((e) => localDayIndex(e.occurredAtMs, timeZone) === index);
  return rollupGroup(ofDay, day);
}

/** newest day first, then dim ascending: the order rows are stored and held in (`customer_days`, then dims) */
export function compareRows(a: DailyRollup, b: DailyRollup): number {
  if (a.day !== b.day) return a.day > b.day ? -1 : 1;
  return compareDim(a, b);
}

/**
 * Rollup rows of every local day the events fall on (backfill and simulation), newest day first, dims ascending.
 * Equal to concatenating rollupDay over each day.
 */
export function rollupEvents(events: readonly AcceptedEvent[], timeZone: string): DailyRollup[] {
  const byDay = new Map<number, AcceptedEvent[]>();
  for (const e of events) {
    const index = localDayIndex(e.occurredAtMs, timeZone);
    let list = byDay.get(index);
    if (list === undefined) byDay.set(index, (list = []));
    list.push(e);
  }
  const days = [...byDay.keys()].sort((a, b) => b - a);
  const rows: DailyRollup[] = [];
  for (const index of days) rows.push(...rollupGroup(byDay.get(index)!, dayFromIndex(index)));
  return rows;
}
