/**
 * Property-style spec: for random event histories (seeded), the snapshot built the production way —
 * daily rollups, then windows over rows — equals a naive computation straight from the raw events.
 * The naive side shares no code with the lib: its own day arithmetic (Intl directly), windows, visits as
 * distinct (day, store) pairs, RFM table and favourites.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  AcceptedEvent,
  ContextSnapshot,
  OfferResponses,
  RecentEvent,
  WindowTotals,
  Windows,
} from '@nunchi/contracts';
import type { EventType } from '@nunchi/contracts/core';
import { rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
import { prng } from './fixtures.js';
import { localDay } from './local-day.js';
import { mergeRows } from './merge-rows.js';
import { pushRecent, toRecentEvent } from './recent.js';
import { buildSnapshot, snapshotView } from './snapshot.js';

const DAY = 86_400_000;
const WINDOWS = [
  ['d7', 7],
  ['d30', 30],
  ['d90', 90],
  ['d365', 365],
] as const;

// ---- the naive oracle -------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
function oracleDay(ms: number, tz: string): number {
  let f = formatters.get(tz);
  if (f === undefined)
    formatters.set(
      tz,
      (f = new Intl.DateTimeFormat('en-CA', {
        timeZone: tz,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      })),
    );
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
  return Date.UTC(+p['year'], +p['month'] - 1, +p['day']) / DAY;
}

interface NaiveDim {
  totals: Record<string, WindowTotals>;
  visitPairs: Record<string, Set<string>>;
}
function naiveDim(): NaiveDim {
  const totals: Record<string, WindowTotals> = {};
  const visitPairs: Record<string, Set<string>> = {};
  for (const [w] of WINDOWS) {
    totals[w] = { spend: 0, purchases: 0, visits: 0, items: 0, events: 0 };
    visitPairs[w] = new Set();
  }
  return { totals, visitPairs };
}
function finish(d: NaiveDim | undefined): Windows {
  const x = d ?? naiveDim();
  for (const [w] of WINDOWS) x.totals[w].visits = x.visitPairs[w].size;
  return { d7: x.totals['d7'], d30: x.totals['d30'], d90: x.totals['d90'], d365: x.totals['d365'] };
}

function naiveSnapshot(
  raw: AcceptedEvent[],
  nowMs: number,
  tz: string,
  currentStoreId: string | undefined,
): ContextSnapshot {
  const byId = new Map<string, AcceptedEvent>();
  for (const e of raw) if (!byId.has(e.id)) byId.set(e.id, e);
  const events = [...byId.values()];
  const today = oracleDay(nowMs, tz);
  const dims = new Map<string, NaiveDim>();
  const dim = (k: string): NaiveDim => dims.get(k) ?? (dims.set(k, naiveDim()), dims.get(k)!);
  let lastVisit = Infinity;
  let lastPurchase = Infinity;
  const answers: Record<string, OfferResponses> = {};

  for (const e of events) {
    const day = oracleDay(e.occurredAtMs, tz);
    const age = today - day;
    if (age < 0 || age >= 365) continue;
    const main = ['all', `channel:${e.channel}`, ...(e.storeId ? [`store:${e.storeId}`] : [])];
    const isPurchase = e.type === 'purchase';
    const lines = isPurchase
      ? (e.payload['items'] as Array<{ category: string; quantity: number; unitPrice: number }>)
      : [];
    const cats = new Set(lines.map((l) => l.category));
    if ((e.type === 'product_view' || e.type === 'cart') && typeof e.payload['category'] === 'string')
      cats.add(e.payload['category']);
    const storeVisit = (e.type === 'visit' || isPurchase) && !!e.storeId;
    if (storeVisit) lastVisit = Math.min(lastVisit, age);
    if (isPurchase) lastPurchase = Math.min(lastPurchase, age);
    if (e.type === 'offer_response' && typeof e.payload['campaignId'] === 'string') {
      const answer = e.payload['response'] as 'accepted' | 'redeemed' | 'dismissed';
      const r = (answers[e.payload['campaignId']] ??= {
        accepted: 0,
        redeemed: 0,
        dismissed: 0,
        daysSinceDismissed: -1,
      });
      if (age < 30) r[answer] += 1;
      if (answer === 'dismissed' && (r.daysSinceDismissed === -1 || age < r.daysSinceDismissed))
        r.daysSinceDismissed = age;
    }
    for (const [w, len] of WINDOWS) {
      if (age >= len) continue;
      for (const k of main) {
        const t = dim(k).totals[w];
        t.events += 1;
        if (isPurchase) {
          t.spend += e.payload['amount'] as number;
          t.purchases += 1;
          t.items += lines.reduce((s, l) => s + l.quantity, 0);
        }
        if (storeVisit) dim(k).visitPairs[w].add(`${day}|${e.storeId}`);
      }
      for (const c of cats) {
        const d = dim(`category:${c}`);
        const t = d.totals[w];
        t.events += 1;
        if (isPurchase) {
          const mine = lines.filter((l) => l.category === c);
          t.spend += mine.reduce((s, l) => s + l.quantity * l.unitPrice, 0);
          t.items += mine.reduce((s, l) => s + l.quantity, 0);
          t.purchases += 1;
          if (storeVisit) d.visitPairs[w].add(`${day}|${e.storeId}`);
        }
      }
    }
  }

  const group = (prefix: string): Record<string, Windows> => {
    const out: Record<string, Windows> = {};
    for (const [k, d] of dims)
      if (k.startsWith(prefix))
        Object.defineProperty(out, k.slice(prefix.length), {
          value: finish(d),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    return out;
  };
  const all = finish(dims.get('all'));
  const store = group('store:');
  const category = group('category:');
  const fav = (m: Record<string, Windows>) => {
    const names = Object.keys(m)
      .filter((n) => m[n].d365.spend > 0)
      .sort();
    let best = '';
    for (const n of names) if (best === '' || m[n].d365.spend > m[best].d365.spend) best = n;
    return best;
  };
  const sinceP = lastPurchase === Infinity ? -1 : lastPurchase;
  const score = (v: number, cuts: number[], up: boolean) => {
    const i = cuts.findIndex((c) => (up ? v >= c : v <= c));
    return i < 0 ? 1 : 5 - i;
  };
  const rfm =
    sinceP < 0
      ? { r: 0, f: 0, m: 0 }
      : {
          r: score(sinceP, [7, 30, 90, 180], false),
          f: score(all.d365.purchases, [52, 24, 12, 4], true),
          m: score(all.d365.spend, [5_000_000, 2_000_000, 800_000, 200_000], true),
        };
  const recent: RecentEvent[] = [...events]
    .sort((a, b) => b.occurredAtMs - a.occurredAtMs || (a.id < b.id ? -1 : 1))
    .slice(0, 20)
    .map((e) => ({
      id: e.id,
      type: e.type,
      channel: e.channel,
      occurredAt: e.occurredAt,
      occurredAtMs: e.occurredAtMs,
      ...(e.storeId ? { storeId: e.storeId } : {}),
      ...(e.type === 'purchase' ? { amount: e.payload['amount'] as number } : {}),
    }));
  return {
    customerId: 'c-prop',
    asOf: new Date(nowMs).toISOString(),
    all,
    thisStore:
      currentStoreId !== undefined && currentStoreId in store ? store[currentStoreId] : finish(undefined),
    store,
    category,
    channel: group('channel:'),
    daysSinceLastVisit: lastVisit === Infinity ? -1 : lastVisit,
    daysSinceLastPurchase: sinceP,
    rfm,
    favouriteStore: fav(store),
    favouriteCategory: fav(category),
    recent,
    responses: Object.fromEntries(Object.entries(answers).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

// ---- random histories -------------------------------------------------------------------------------------

const TYPES: EventType[] = [
  'purchase',
  'purchase',
  'purchase',
  'visit',
  'visit',
  'page_view',
  'product_view',
  'cart',
  'app_open',
  'offer_response',
];
const STORES = ['bundang-01', 'pangyo-01', 'jamsil-02', undefined];
const CHANNELS = ['pos', 'app', 'web', 'kiosk'];
const CATEGORIES = ['beer', 'milk', 'rice', 'soju', 'infant_formula', 'constructor'];

function history(rnd: () => number, nowMs: number, n: number): AcceptedEvent[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const events: AcceptedEvent[] = [];
  for (let i = 0; i < n; i++) {
    // mostly within the year, some older than 365 days, some a little in the future; often near midnight
    const daysBack = Math.floor(rnd() * 400) - 2;
    const at = nowMs - daysBack * DAY + Math.floor((rnd() - 0.5) * (rnd() < 0.3 ? 120_000 : DAY));
    const type = pick(TYPES);
    const channel = pick(CHANNELS);
    const storeId = type === 'page_view' ? undefined : pick(STORES);
    let payload: Record<string, unknown> = {};
    if (type === 'purchase') {
      const items = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, j) => ({
        sku: `sku-${j}`,
        category: pick(CATEGORIES),
        quantity: 1 + Math.floor(rnd() * 5),
        unitPrice: 100 * (1 + Math.floor(rnd() * 2000)),
      }));
      const amount = items.reduce((s, l) => s + l.quantity * l.unitPrice, 0) - Math.floor(rnd() * 500);
      payload = { amount, currency: 'KRW', items };
    } else if (type === 'product_view' || type === 'cart') {
      payload = { sku: 'x', category: pick(CATEGORIES), action: 'add', quantity: 1 };
    } else if (type === 'offer_response') {
      payload = { decisionId: `d-${i}`, response: pick(['accepted', 'redeemed', 'dismissed', 'dismissed']) };
      if (rnd() < 0.9) payload['campaignId'] = pick(['beer-promo', 'formula-ko']);
    }
    const e: AcceptedEvent = {
      id: `e-${i}`,
      type,
      channel,
      occurredAt: new Date(at).toISOString(),
      occurredAtMs: at,
      receivedAtMs: at + 1000,
      customerId: 'c-prop',
      payload,
    };
    if (storeId !== undefined) e.storeId = storeId;
    events.push(e);
    if (rnd() < 0.1) events.push({ ...e, receivedAtMs: e.receivedAtMs + 60_000 }); // a redelivery
  }
  return events;
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

for (const tz of ['Asia/Seoul', 'America/New_York']) {
  void test(`snapshot from rollups equals the naive computation on raw events (${tz})`, () => {
    const rnd = prng(tz.length * 7919);
    for (let trial = 0; trial < 300; trial++) {
      const nowMs = Date.UTC(2026, 0, 1) + Math.floor(rnd() * 365 * DAY);
      const events = history(rnd, nowMs, Math.floor(rnd() * 120));
      const currentStoreId = STORES[trial % STORES.length];
      const rows = rollupEvents(events, tz);
      const recent = events.map(toRecentEvent);
      const actual = buildSnapshot({
        customerId: 'c-prop',
        rows,
        recent,
        nowMs,
        timeZone: tz,
        ...(currentStoreId ? { currentStoreId } : {}),
      });
      assert.deepStrictEqual(actual, naiveSnapshot(events, nowMs, tz, currentStoreId), `trial ${trial}`);
    }
  });
}

void test('the hot tier (per event: recompute that day, merge, push recent), in any arrival order, equals the batch', () => {
  const tz = 'Asia/Seoul';
  const rnd = prng(2026);
  for (let trial = 0; trial < 60; trial++) {
    const nowMs = Date.UTC(2026, 10, 24, 10, 5);
    const events = history(rnd, nowMs, 1 + Math.floor(rnd() * 80));
    const arrivals = shuffle([...events, ...events.filter(() => rnd() < 0.2)], rnd);
    const stored: AcceptedEvent[] = []; // customer_events
    let rows: DailyRollup[] = []; // customer_days / hot tier
    let recent: readonly RecentEvent[] = [];
    for (const e of arrivals) {
      stored.push(e);
      rows = mergeRows(rows, rollupDay(stored, localDay(e.occurredAtMs, tz), tz));
      recent = pushRecent(recent, e);
    }
    assert.deepStrictEqual(rows, rollupEvents(events, tz), `rows, trial ${trial}`);
    const live = buildSnapshot({ customerId: 'c-prop', rows, recent, nowMs, timeZone: tz });
    assert.deepStrictEqual(live, naiveSnapshot(events, nowMs, tz, undefined), `snapshot, trial ${trial}`);
  }
});

/** Every field of a snapshot (a view's getters included), as a plain object, reading them in `order`. */
function fieldsOf(s: ContextSnapshot, order: readonly (keyof ContextSnapshot)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) out[k] = s[k];
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

void test('snapshotView equals buildSnapshot field by field, whichever field is read first', () => {
  const fields: (keyof ContextSnapshot)[] = [
    'customerId',
    'asOf',
    'all',
    'thisStore',
    'store',
    'category',
    'channel',
    'daysSinceLastVisit',
    'daysSinceLastPurchase',
    'rfm',
    'favouriteStore',
    'favouriteCategory',
    'recent',
    'responses',
  ];
  for (const tz of ['Asia/Seoul', 'America/New_York']) {
    const rnd = prng(tz.length * 104_729);
    for (let trial = 0; trial < 200; trial++) {
      const nowMs = Date.UTC(2026, 0, 1) + Math.floor(rnd() * 365 * DAY);
      const events = history(rnd, nowMs, Math.floor(rnd() * 120));
      const currentStoreId = [...STORES, ''][trial % (STORES.length + 1)];
      const input = {
        customerId: 'c-prop',
        rows: rollupEvents(events, tz),
        recent: events.map(toRecentEvent),
        nowMs,
        timeZone: tz,
        ...(currentStoreId !== undefined ? { currentStoreId } : {}),
      };
      const order = shuffle([...fields], rnd);
      assert.deepStrictEqual(
        fieldsOf(snapshotView(input), order),
        fieldsOf(buildSnapshot(input), fields),
        `trial ${trial} (${tz}), read in the order ${order.join(', ')}`,
      );
    }
  }
});
