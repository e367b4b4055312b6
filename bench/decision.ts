/**
 * Decision engine benchmark: engine only, pure code, no I/O.
 *
 *   npm run -s build && node dist/bench/decision.js          (whole run < 60 s on 2 cores)
 *   node dist/bench/decision.js --quick                      (smaller, for a smoke test)
 *
 * For N = 100, 1,000 and 10,000 generated campaigns it decides a fixed list of events, each with its
 * customer profile and context snapshot, and reports decisions/s and per-decision latency
 * (process.hrtime.bigint around each evaluate, after a warm-up) plus CPU time per decision (steadier
 * than wall time on a shared machine).
 *
 * The campaigns (seeded PRNG, the same distribution for every N): triggers over 9 event types (45%
 * purchase) and 5 channels; 60% of in-store campaigns limited to 1-3 of 200 stores; audiences of 0-11
 * terms over age ranges, gender, 20 regions (Zipf), credit tier, 90-day spend, RFM, recency, store
 * visits, category history, consent and a profile attribute; purchase conditions over amount, items
 * and 1-2 of 60 categories (75%); 1-3 offers with `when`; schedules with dates (15% outside the event
 * month), hours (60%) and weekdays (20%). The events: 9 types (35% purchase, 22% product view…), Zipf
 * over 120 categories and 200 stores, 8:00-23:00 Seoul time over a month.
 *
 * Then, on the same 1,000 campaigns and the same events, it builds the equivalent rules for
 * json-rules-engine 7.3.1 (one rule per campaign: trigger, schedule, audience, condition, any offer
 * `when`), checks that both engines find the same eligible campaigns, and prints the throughput ratio.
 *
 * runDecisionBench(opts) returns the figures as an object for the benchmark harness.
 */
import { Engine, type NestedCondition, type RuleProperties } from 'json-rules-engine';
import { pathToFileURL } from 'node:url';
import type {
  AcceptedEvent,
  ContextSnapshot,
  CustomerProfile,
  WindowTotals,
  Windows,
} from '@nunchi/contracts';
import type { EventType } from '@nunchi/contracts/core';
import {
  CampaignSet,
  compileCampaign,
  type CampaignDefinition,
  type CompiledCampaign,
  type CustomerUsage,
  type DecisionInput,
  type Weekday,
} from '@nunchi/rules';
import { prng } from '@nunchi/testing';
import { benchArgs } from './support.js';

export interface DecisionBenchOptions {
  /** campaign counts to measure; @default [100, 1000, 10000] */
  sizes?: number[];
  /** campaign count of the json-rules-engine comparison; @default 1000 */
  compareSize?: number;
  /** distinct events (with customer and context) decided in a cycle; @default 2000 */
  events?: number;
  /** PRNG seed; @default 42 */
  seed?: number;
  /** measuring time per size, milliseconds (after warm-up); @default 4000 */
  measureMs?: number;
  /** time budget of the json-rules-engine run, milliseconds; @default 8000 */
  jreMs?: number;
  /** progress lines; @default none */
  log?: (line: string) => void;
}

export interface LatencyFigures {
  decisions: number;
  decisionsPerSec: number;
  /** microseconds */
  p50Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
  /** process CPU time per decision, microseconds: steadier than wall time on a busy machine */
  cpuUsPerDecision: number;
}

/** Percentiles of the CPU time of single decisions (getrusage around each call; 1 µs resolution). */
export interface CpuPercentiles {
  cpuP50Us: number;
  cpuP99Us: number;
  cpuMaxUs: number;
}

export interface SizeFigures extends LatencyFigures, CpuPercentiles {
  campaigns: number;
  /** milliseconds to compile the campaigns (parse, validate, CEL compile + type-check) and index them */
  compileMs: number;
  /** campaigns the index let through per event, mean */
  meanConsidered: number;
  /** eligible campaigns per event, mean */
  meanCandidates: number;
  /** share of events with at least one candidate */
  offerRate: number;
}

export interface DecisionBenchResult {
  node: string;
  seed: number;
  events: number;
  sizes: SizeFigures[];
  comparison: {
    campaigns: number;
    /** events decided by both engines (json-rules-engine is slow: a time-bounded prefix of the list) */
    events: number;
    jsonRulesEngine: LatencyFigures;
    nunchi: LatencyFigures;
    /** nunchi with the guard index off (trigger index only) */
    nunchiTriggerIndexOnly: LatencyFigures;
    /** nunchi decisions/s ÷ json-rules-engine decisions/s */
    ratio: number;
    ratioTriggerIndexOnly: number;
    /** events on which both engines found exactly the same eligible campaigns */
    agreement: number;
  };
}

// ---------------------------------------------------------------- seeded data

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
function weighted<T>(r: Rng, table: ReadonlyArray<readonly [T, number]>): T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of table) if ((x -= w) < 0) return v;
  return table[table.length - 1][0];
}
function sample<T>(r: Rng, xs: readonly T[], n: number): T[] {
  const copy = [...xs];
  const out: T[] = [];
  while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(r() * copy.length), 1)[0]);
  return out;
}
/** Zipf-like: low indexes much more likely (popular categories, big stores). */
const zipf = <T>(r: Rng, xs: readonly T[]): T =>
  xs[Math.min(xs.length - 1, Math.floor(xs.length * r() ** 2.2))];

const CATEGORY_NAMES = [
  'beer',
  'infant_formula',
  'diapers',
  'milk',
  'ramen',
  'kimchi',
  'rice',
  'soju',
  'wine',
  'cheese',
  'chicken',
  'pork',
  'beef',
  'fish',
  'fruit',
  'vegetables',
  'snacks',
  'coffee',
  'tea',
  'bread',
  'eggs',
  'tofu',
  'cosmetics',
  'shampoo',
  'detergent',
  'toys',
  'stationery',
  'electronics',
  'kitchenware',
  'pet_food',
];
const CATEGORIES = [
  ...CATEGORY_NAMES,
  ...Array.from({ length: 90 }, (_, i) => `cat_${String(i).padStart(3, '0')}`),
];
const REGIONS = [
  'Bundang',
  'Gangnam',
  'Mapo',
  'Songpa',
  'Ilsan',
  'Suwon',
  'Incheon',
  'Busan',
  'Daegu',
  'Daejeon',
  'Gwangju',
  'Ulsan',
  'Jeonju',
  'Cheongju',
  'Changwon',
  'Pohang',
  'Jeju',
  'Yongin',
  'Goyang',
  'Anyang',
];
const STORES = Array.from({ length: 200 }, (_, i) => `store-${String(i).padStart(3, '0')}`);
const TIERS = ['A', 'B', 'C', 'D'];
const SEGMENTS = ['family', 'single', 'senior', 'student', 'business'];
const WEEKDAY_NAMES: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const CHANNELS_OF: Record<EventType, ReadonlyArray<readonly [string[] | undefined, number]>> = {
  purchase: [
    [['pos'], 6],
    [['pos', 'kiosk'], 2],
    [['web', 'app'], 1],
    [undefined, 2],
  ],
  visit: [
    [['pos'], 3],
    [undefined, 1],
  ],
  page_view: [
    [['web'], 2],
    [['web', 'app'], 1],
  ],
  product_view: [
    [['web'], 2],
    [['web', 'app'], 2],
    [['app'], 1],
  ],
  cart: [
    [['web', 'app'], 2],
    [['web'], 1],
  ],
  app_open: [[['app'], 1]],
  location: [[['app'], 1]],
  offer_response: [[undefined, 1]],
  profile_update: [[['callcenter', 'web'], 1]],
};
const IN_STORE: ReadonlySet<string> = new Set(['purchase', 'visit', 'location']);

interface Atom {
  cel: string;
  jre: NestedCondition[];
}
const fact = (f: string, path: string, operator: string, value: unknown): NestedCondition => ({
  fact: f,
  path: `$.${path}`,
  operator,
  value,
});

function audienceAtoms(r: Rng, regional: number): Atom[] {
  const atoms: Atom[] = [];
  if (r() < 0.5) {
    const lo = pick(r, [20, 25, 30, 35, 40, 50]);
    const hi = lo + pick(r, [9, 14, 19]);
    atoms.push({
      cel: `customer.age >= ${lo} && customer.age <= ${hi}`,
      jre: [
        fact('customer', 'age', 'greaterThanInclusive', lo),
        fact('customer', 'age', 'lessThanInclusive', hi),
      ],
    });
  }
  if (r() < 0.3) {
    const g = pick(r, ['M', 'F']);
    atoms.push({ cel: `customer.gender == '${g}'`, jre: [fact('customer', 'gender', 'equal', g)] });
  }
  if (r() < regional) {
    const reg = zipf(r, REGIONS);
    atoms.push({ cel: `customer.region == '${reg}'`, jre: [fact('customer', 'region', 'equal', reg)] });
  }
  if (r() < 0.25) {
    const tiers = sample(r, TIERS, int(r, 1, 2));
    atoms.push({
      cel: `customer.creditTier in [${tiers.map((t) => `'${t}'`).join(', ')}]`,
      jre: [fact('customer', 'creditTier', 'in', tiers)],
    });
  }
  if (r() < 0.3) {
    const x = pick(r, [100_000, 300_000, 500_000, 1_000_000]);
    atoms.push({
      cel: `ctx.all.d90.spend >= ${x}`,
      jre: [fact('ctx', 'all.d90.spend', 'greaterThanInclusive', x)],
    });
  }
  if (r() < 0.2) {
    const f = int(r, 2, 4);
    atoms.push({ cel: `ctx.rfm.f >= ${f}`, jre: [fact('ctx', 'rfm.f', 'greaterThanInclusive', f)] });
  }
  if (r() < 0.15) {
    const d = pick(r, [14, 30, 60]);
    atoms.push({
      cel: `ctx.daysSinceLastPurchase > ${d}`,
      jre: [fact('ctx', 'daysSinceLastPurchase', 'greaterThan', d)],
    });
  }
  if (r() < 0.15) {
    const v = int(r, 2, 5);
    atoms.push({
      cel: `ctx.thisStore.d90.visits >= ${v}`,
      jre: [fact('ctx', 'thisStore.d90.visits', 'greaterThanInclusive', v)],
    });
  }
  if (r() < 0.15) {
    const c = zipf(r, CATEGORIES);
    atoms.push({
      cel: `ctx.category.${c}.d365.purchases >= 1`,
      jre: [fact('ctx', `category.${c}.d365.purchases`, 'greaterThanInclusive', 1)],
    });
  }
  if (r() < 0.2)
    atoms.push({
      cel: 'customer.marketingConsent',
      jre: [fact('customer', 'marketingConsent', 'equal', true)],
    });
  if (r() < 0.1) {
    const s = pick(r, SEGMENTS);
    atoms.push({
      cel: `customer.attributes.segment == '${s}'`,
      jre: [fact('customer', 'attributes.segment', 'equal', s)],
    });
  }
  return atoms;
}

function conditionAtoms(r: Rng, type: EventType): Atom[] {
  const atoms: Atom[] = [];
  if (type === 'purchase') {
    const x = pick(r, [10_000, 30_000, 50_000, 100_000, 200_000]);
    atoms.push({ cel: `event.amount >= ${x}`, jre: [fact('event', 'amount', 'greaterThanInclusive', x)] });
    const cats = r() < 0.75 ? sample(r, CATEGORIES.slice(0, 60), r() < 0.3 ? 2 : 1) : [];
    for (const c of cats)
      atoms.push({ cel: `'${c}' in event.categories`, jre: [fact('event', 'categories', 'contains', c)] });
    if (r() < 0.2) {
      const n = int(r, 3, 10);
      atoms.push({ cel: `event.items >= ${n}`, jre: [fact('event', 'items', 'greaterThanInclusive', n)] });
    }
  } else if (type === 'product_view' || type === 'cart') {
    if (r() < 0.85) {
      const c = zipf(r, CATEGORIES);
      atoms.push({ cel: `'${c}' in event.categories`, jre: [fact('event', 'categories', 'contains', c)] });
    }
    if (r() < 0.4) {
      const x = pick(r, [10_000, 20_000, 50_000]);
      atoms.push({ cel: `event.amount >= ${x}`, jre: [fact('event', 'amount', 'greaterThanInclusive', x)] });
    }
  } else if (type === 'app_open') {
    const d = pick(r, [3, 7, 14]);
    atoms.push({
      cel: `ctx.daysSinceLastVisit > ${d}`,
      jre: [fact('ctx', 'daysSinceLastVisit', 'greaterThan', d)],
    });
  } else if (type === 'visit') {
    const v = int(r, 1, 4);
    atoms.push({
      cel: `ctx.thisStore.d30.visits >= ${v}`,
      jre: [fact('ctx', 'thisStore.d30.visits', 'greaterThanInclusive', v)],
    });
  }
  return atoms;
}

const WHEN_ATOMS: Array<(r: Rng) => Atom> = [
  (r) => {
    const tiers = sample(r, TIERS, 2);
    return {
      cel: `customer.creditTier in [${tiers.map((t) => `'${t}'`).join(', ')}]`,
      jre: [fact('customer', 'creditTier', 'in', tiers)],
    };
  },
  (r) => {
    const h = int(r, 12, 20);
    return { cel: `now.hour >= ${h}`, jre: [fact('now', 'hour', 'greaterThanInclusive', h)] };
  },
  (r) => {
    const n = int(r, 1, 4);
    return {
      cel: `ctx.all.d30.purchases >= ${n}`,
      jre: [fact('ctx', 'all.d30.purchases', 'greaterThanInclusive', n)],
    };
  },
];

interface GeneratedCampaign {
  def: CampaignDefinition;
  jre: RuleProperties;
}

const DAY_MS = 86_400_000;
const SEOUL_MS = 9 * 3_600_000;
const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

function generateCampaign(r: Rng, i: number): GeneratedCampaign {
  const id = `c${String(i).padStart(5, '0')}`;
  const type = weighted<EventType>(r, [
    ['purchase', 45],
    ['product_view', 13],
    ['cart', 10],
    ['app_open', 10],
    ['visit', 9],
    ['page_view', 5],
    ['location', 5],
    ['offer_response', 2],
    ['profile_update', 1],
  ]);
  const channels = weighted(r, CHANNELS_OF[type]);
  // most in-store campaigns are local (1-3 stores); app/web-wide ones are mostly regional
  const stores = IN_STORE.has(type) && r() < 0.6 ? sample(r, STORES, int(r, 1, 3)) : undefined;
  const audience = audienceAtoms(
    r,
    type === 'app_open' || type === 'page_view' || type === 'location' ? 0.8 : 0.45,
  );
  const condition = conditionAtoms(r, type);

  const offerCount = int(r, 1, 3);
  const offers = Array.from({ length: offerCount }, (_, k) => {
    const when = k < offerCount - 1 || r() < 0.3 ? pick(r, WHEN_ATOMS)(r) : undefined;
    return {
      when,
      offer: {
        id: `o${k}`,
        title: `Offer ${k} of ${id}`,
        value: pick(r, [1000, 2000, 3000, 5000, 10000]),
        propensity: pick(r, [0.05, 0.1, 0.2, 0.5, 1]),
        ...(when ? { when: when.cel } : {}),
      },
    };
  });

  const narrow = r() < 0.15;
  const from = narrow ? '2026-12-01' : '2026-01-01';
  const to = narrow ? '2026-12-31' : '2027-12-31';
  const hours = r() < 0.6 ? [int(r, 7, 12), int(r, 20, 23)] : undefined;
  const weekdays =
    r() < 0.2
      ? sample(r, WEEKDAY_NAMES, int(r, 2, 5)).sort(
          (a, b) => WEEKDAY_NAMES.indexOf(a) - WEEKDAY_NAMES.indexOf(b),
        )
      : undefined;
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;

  const def: CampaignDefinition = {
    id,
    name: `Generated ${type} campaign ${i}`,
    trigger: { types: [type], ...(channels ? { channels } : {}), ...(stores ? { stores } : {}) },
    ...(audience.length ? { audience: audience.map((a) => a.cel).join(' && ') } : {}),
    ...(condition.length ? { condition: condition.map((a) => a.cel).join(' && ') } : {}),
    schedule: {
      from,
      to,
      ...(weekdays ? { weekdays } : {}),
      ...(hours ? { hours: `${hh(hours[0])}-${hh(hours[1])}` } : {}),
      timezone: 'Asia/Seoul',
    },
    offers: offers.map((o) => o.offer),
    caps: { perCustomerPerDay: 1 },
    budget: { maxOffers: 100_000 },
    holdoutPercent: pick(r, [0, 5, 10, 20]),
    priority: int(r, 0, 100),
  };

  const all: NestedCondition[] = [fact('event', 'type', 'equal', type)];
  if (channels) all.push(fact('event', 'channel', 'in', channels));
  if (stores) all.push(fact('event', 'storeId', 'in', stores));
  all.push(
    fact('now', 'day', 'greaterThanInclusive', dayOf(from)),
    fact('now', 'day', 'lessThanInclusive', dayOf(to)),
  );
  if (weekdays)
    all.push(
      fact(
        'now',
        'weekday',
        'in',
        weekdays.map((w) => WEEKDAY_NAMES.indexOf(w)),
      ),
    );
  if (hours)
    all.push(
      fact('now', 'minuteOfDay', 'greaterThanInclusive', hours[0] * 60),
      fact('now', 'minuteOfDay', 'lessThan', hours[1] * 60),
    );
  for (const a of [...audience, ...condition]) all.push(...a.jre);
  if (offers.every((o) => o.when)) all.push({ any: offers.map((o) => ({ all: o.when!.jre })) });
  return {
    def,
    jre: { name: id, priority: (def.priority ?? 0) + 1, conditions: { all }, event: { type: id } },
  };
}

interface GeneratedEvent {
  input: DecisionInput;
  /** json-rules-engine runtime facts */
  facts: Record<string, unknown>;
}

function totalsOf(r: Rng, scale: number): WindowTotals {
  const purchases = Math.round(r() * 4 * scale);
  return {
    spend: purchases * int(r, 10_000, 120_000),
    purchases,
    visits: Math.round(purchases * 1.2),
    items: purchases * int(r, 2, 9),
    events: purchases * 3 + int(r, 0, 10),
  };
}
function windowsOf(r: Rng): Windows {
  return { d7: totalsOf(r, 0.25), d30: totalsOf(r, 1), d90: totalsOf(r, 3), d365: totalsOf(r, 12) };
}

const NO_USAGE: CustomerUsage = {
  offersToday: 0,
  byCampaignToday: {},
  byCampaignLifetime: {},
  byChannelToday: {},
};

function generateEvent(r: Rng, i: number): GeneratedEvent {
  const customerId = `c-${String(i).padStart(6, '0')}`;
  const type = weighted<EventType>(r, [
    ['purchase', 35],
    ['product_view', 22],
    ['page_view', 15],
    ['app_open', 10],
    ['cart', 8],
    ['visit', 6],
    ['location', 2],
    ['offer_response', 1],
    ['profile_update', 1],
  ]);
  const channel =
    type === 'purchase'
      ? weighted(r, [
          ['pos', 7],
          ['kiosk', 1],
          ['web', 1],
          ['app', 1],
        ] as const)
      : type === 'visit'
        ? 'pos'
        : type === 'app_open' || type === 'location'
          ? 'app'
          : type === 'profile_update'
            ? 'callcenter'
            : weighted(r, [
                ['web', 3],
                ['app', 2],
              ] as const);
  const storeId =
    IN_STORE.has(type) || channel === 'pos' || channel === 'kiosk' ? zipf(r, STORES) : undefined;
  const day = dayOf('2026-11-02') + int(r, 0, 27);
  const minuteOfDay = int(r, 8 * 60, 22 * 60 + 59);
  const occurredAtMs = day * DAY_MS + minuteOfDay * 60_000 - SEOUL_MS;

  let payload: Record<string, unknown> = {};
  if (type === 'purchase') {
    const items = Array.from({ length: int(r, 1, 9) }, (_, k) => ({
      sku: `sku-${k}-${int(r, 0, 9999)}`,
      category: zipf(r, CATEGORIES),
      quantity: int(r, 1, 4),
      unitPrice: int(r, 1, 60) * 1000,
    }));
    payload = { amount: items.reduce((s, it) => s + it.quantity * it.unitPrice, 0), currency: 'KRW', items };
  } else if (type === 'product_view')
    payload = { sku: `sku-${int(r, 0, 9999)}`, category: zipf(r, CATEGORIES), price: int(r, 1, 90) * 1000 };
  else if (type === 'cart')
    payload = {
      action: 'add',
      sku: `sku-${int(r, 0, 9999)}`,
      category: zipf(r, CATEGORIES),
      quantity: int(r, 1, 3),
      unitPrice: int(r, 1, 60) * 1000,
    };
  else if (type === 'page_view') payload = { url: `/p/${int(r, 0, 999)}` };

  const event: AcceptedEvent = {
    id: `evt-${i}`,
    type,
    channel,
    occurredAt: new Date(occurredAtMs).toISOString(),
    occurredAtMs,
    receivedAtMs: occurredAtMs,
    customerId,
    ...(storeId ? { storeId } : {}),
    payload,
  };
  const customer: CustomerProfile = {
    id: customerId,
    age: int(r, 19, 75),
    gender: pick(r, ['M', 'F']),
    region: zipf(r, REGIONS),
    creditTier: pick(r, TIERS),
    marketingConsent: r() < 0.7,
    attributes: r() < 0.6 ? { segment: pick(r, SEGMENTS) } : {},
  };
  const catCount = int(r, 3, 15);
  const category: Record<string, Windows> = {};
  for (let k = 0; k < catCount; k++) category[zipf(r, CATEGORIES)] = windowsOf(r);
  const store: Record<string, Windows> = {};
  for (let k = 0; k < int(r, 1, 3); k++) store[zipf(r, STORES)] = windowsOf(r);
  const ctx: ContextSnapshot = {
    customerId,
    asOf: event.occurredAt,
    all: windowsOf(r),
    thisStore: storeId && store[storeId] ? store[storeId] : windowsOf(r),
    store,
    category,
    channel: { pos: windowsOf(r), web: windowsOf(r) },
    daysSinceLastVisit: int(r, -1, 120),
    daysSinceLastPurchase: int(r, -1, 200),
    rfm: { r: int(r, 0, 5), f: int(r, 0, 5), m: int(r, 0, 5) },
    favouriteStore: zipf(r, STORES),
    favouriteCategory: zipf(r, CATEGORIES),
    recent: [],
    responses: {},
  };

  // json-rules-engine facts: the same data, flattened the way its JSONPath conditions read it
  const lines = (payload.items as Array<{ category: string; quantity: number }> | undefined) ?? [];
  const categories =
    type === 'purchase'
      ? [...new Set(lines.map((l) => l.category))]
      : typeof payload.category === 'string'
        ? [payload.category]
        : [];
  const amount =
    type === 'purchase'
      ? (payload.amount as number)
      : type === 'cart'
        ? (payload.quantity as number) * (payload.unitPrice as number)
        : type === 'product_view'
          ? (payload.price as number)
          : 0;
  const items =
    type === 'purchase'
      ? lines.reduce((s, l) => s + l.quantity, 0)
      : type === 'cart'
        ? (payload.quantity as number)
        : type === 'product_view'
          ? 1
          : 0;
  const facts = {
    event: { type, channel, storeId: storeId ?? '', amount, categories, items },
    customer,
    ctx,
    now: { day, weekday: (((day + 4) % 7) + 7) % 7, minuteOfDay, hour: Math.floor(minuteOfDay / 60) },
  };
  return { input: { event, customer, ctx, nowMs: occurredAtMs, usage: NO_USAGE }, facts };
}

/** The generated campaigns and events (same seed, same data), for other tools and tests. */
export function generateDecisionWorkload(
  seed: number,
  campaigns: number,
  events: number,
): { campaigns: CampaignDefinition[]; inputs: DecisionInput[] } {
  const r = prng(seed);
  const inputs = Array.from({ length: events }, (_, i) => generateEvent(r, i).input);
  return { campaigns: Array.from({ length: campaigns }, (_, i) => generateCampaign(r, i).def), inputs };
}

// ---------------------------------------------------------------- measuring

function figures(durationsNs: Float64Array, n: number, wallNs: number, cpuUs: number): LatencyFigures {
  const d = durationsNs.subarray(0, n).slice().sort();
  const at = (q: number) => d[Math.min(n - 1, Math.floor(q * n))] / 1000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += d[i];
  return {
    decisions: n,
    decisionsPerSec: n / (wallNs / 1e9),
    p50Us: at(0.5),
    p99Us: at(0.99),
    maxUs: d[n - 1] / 1000,
    meanUs: sum / n / 1000,
    cpuUsPerDecision: cpuUs / n,
  };
}

function measureSet(
  set: CampaignSet,
  inputs: DecisionInput[],
  ms: number,
): LatencyFigures & CpuPercentiles & { considered: number; candidates: number; withOffer: number } {
  // warm-up: every input at least twice, or ~1/4 of the time budget
  const warmUntil = process.hrtime.bigint() + BigInt(Math.round((ms / 4) * 1e6));
  for (let i = 0; i < inputs.length * 2 || process.hrtime.bigint() < warmUntil; i++)
    set.evaluate(inputs[i % inputs.length]);

  const cap = 2_000_000;
  const durations = new Float64Array(cap);
  let n = 0;
  let considered = 0;
  let candidates = 0;
  let withOffer = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms * 1e6);
  while (n < cap) {
    for (let k = 0; k < 64; k++, n++) {
      const t0 = process.hrtime.bigint();
      const ev = set.evaluate(inputs[n % inputs.length]);
      durations[n] = Number(process.hrtime.bigint() - t0);
      considered += ev.considered;
      candidates += ev.candidates.length;
      if (ev.candidates.length > 0) withOffer++;
    }
    if (process.hrtime.bigint() >= until) break;
  }
  const wall = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpu0);

  // CPU time of single decisions: on a shared machine, wall-clock tails are mostly other processes
  // preempting this one; CPU time shows what the engine itself costs.
  const cpuTimes = new Float64Array(Math.min(n, 50_000));
  const cpuUntil = process.hrtime.bigint() + BigInt(Math.round((ms / 3) * 1e6));
  let m = 0;
  while (m < cpuTimes.length && (m < 1000 || process.hrtime.bigint() < cpuUntil)) {
    const c0 = process.cpuUsage();
    set.evaluate(inputs[m % inputs.length]);
    const c = process.cpuUsage(c0);
    cpuTimes[m++] = c.user + c.system;
  }
  const sorted = cpuTimes.subarray(0, m).slice().sort();
  return {
    ...figures(durations, n, wall, cpu.user + cpu.system),
    cpuP50Us: sorted[Math.floor(0.5 * m)],
    cpuP99Us: sorted[Math.min(m - 1, Math.floor(0.99 * m))],
    cpuMaxUs: sorted[m - 1],
    considered,
    candidates,
    withOffer,
  };
}

async function measureJre(
  engine: Engine,
  facts: Array<Record<string, unknown>>,
  ms: number,
): Promise<{ figures: LatencyFigures; eligible: string[][] }> {
  for (let i = 0; i < Math.min(5, facts.length); i++) await engine.run(facts[i]);
  const durations = new Float64Array(facts.length);
  const eligible: string[][] = [];
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms * 1e6);
  let n = 0;
  while (n < facts.length && (n < 20 || process.hrtime.bigint() < until)) {
    const t0 = process.hrtime.bigint();
    const result = await engine.run(facts[n]);
    durations[n] = Number(process.hrtime.bigint() - t0);
    eligible.push(result.events.map((e) => e.type).sort());
    n++;
  }
  const wall = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpu0);
  return { figures: figures(durations, n, wall, cpu.user + cpu.system), eligible };
}

/** Run the benchmark; figures in the returned object, progress through opts.log. */
export async function runDecisionBench(opts: DecisionBenchOptions = {}): Promise<DecisionBenchResult> {
  const seed = opts.seed ?? 42;
  const sizes = opts.sizes ?? [100, 1000, 10_000];
  const compareSize = opts.compareSize ?? 1000;
  const measureMs = opts.measureMs ?? 4000;
  const log = opts.log ?? (() => {});
  const r = prng(seed);

  const eventCount = opts.events ?? 2000;
  const generatedEvents = Array.from({ length: eventCount }, (_, i) => generateEvent(r, i));
  const inputs = generatedEvents.map((e) => e.input);
  const maxSize = Math.max(...sizes, compareSize);
  const generated = Array.from({ length: maxSize }, (_, i) => generateCampaign(r, i));

  const compiledAll: CompiledCampaign[] = [];
  const result: DecisionBenchResult = {
    node: process.version,
    seed,
    events: eventCount,
    sizes: [],
    comparison: undefined as never,
  };

  for (const size of sizes) {
    const t0 = process.hrtime.bigint();
    for (let i = compiledAll.length; i < size; i++) compiledAll.push(compileCampaign(generated[i].def, 1));
    const set = new CampaignSet(compiledAll.slice(0, size), { maxOffersPerCustomerPerDay: 3 });
    const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
    log(`N=${size}: compiled in ${compileMs.toFixed(0)} ms, measuring…`);
    const m = measureSet(set, inputs, measureMs);
    result.sizes.push({
      campaigns: size,
      compileMs,
      decisions: m.decisions,
      decisionsPerSec: m.decisionsPerSec,
      p50Us: m.p50Us,
      p99Us: m.p99Us,
      maxUs: m.maxUs,
      meanUs: m.meanUs,
      cpuUsPerDecision: m.cpuUsPerDecision,
      cpuP50Us: m.cpuP50Us,
      cpuP99Us: m.cpuP99Us,
      cpuMaxUs: m.cpuMaxUs,
      meanConsidered: m.considered / m.decisions,
      meanCandidates: m.candidates / m.decisions,
      offerRate: m.withOffer / m.decisions,
    });
  }

  // json-rules-engine on the same campaigns and events
  while (compiledAll.length < compareSize)
    compiledAll.push(compileCampaign(generated[compiledAll.length].def, 1));
  log(`json-rules-engine: ${compareSize} rules, up to ${((opts.jreMs ?? 8000) / 1000).toFixed(0)} s…`);
  const engine = new Engine(
    generated.slice(0, compareSize).map((g) => g.jre),
    { allowUndefinedFacts: true },
  );
  const jre = await measureJre(
    engine,
    generatedEvents.map((e) => e.facts),
    opts.jreMs ?? 8000,
  );
  const k = jre.figures.decisions;
  const sameInputs = inputs.slice(0, k);
  const full = new CampaignSet(compiledAll.slice(0, compareSize), { maxOffersPerCustomerPerDay: 3 });
  const triggerOnly = new CampaignSet(compiledAll.slice(0, compareSize), {
    maxOffersPerCustomerPerDay: 3,
    guardIndex: false,
  });
  let agreement = 0;
  for (let i = 0; i < k; i++) {
    const ours = full
      .evaluate(sameInputs[i])
      .candidates.map((c) => c.campaignId)
      .sort();
    if (ours.join() === jre.eligible[i].join()) agreement++;
  }
  log('nunchi on the same events…');
  const nFull = measureSet(full, sameInputs, measureMs / 2);
  const nTrigger = measureSet(triggerOnly, sameInputs, measureMs / 2);
  const strip = (m: LatencyFigures): LatencyFigures => ({
    decisions: m.decisions,
    decisionsPerSec: m.decisionsPerSec,
    p50Us: m.p50Us,
    p99Us: m.p99Us,
    maxUs: m.maxUs,
    meanUs: m.meanUs,
    cpuUsPerDecision: m.cpuUsPerDecision,
  });
  result.comparison = {
    campaigns: compareSize,
    events: k,
    jsonRulesEngine: jre.figures,
    nunchi: strip(nFull),
    nunchiTriggerIndexOnly: strip(nTrigger),
    ratio: nFull.decisionsPerSec / jre.figures.decisionsPerSec,
    ratioTriggerIndexOnly: nTrigger.decisionsPerSec / jre.figures.decisionsPerSec,
    agreement,
  };
  return result;
}

// ---------------------------------------------------------------- report

const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
const f1 = (x: number) => x.toFixed(1);

export function formatDecisionBench(r: DecisionBenchResult): string {
  const rows = [
    [
      'campaigns',
      'compile ms',
      'considered/event',
      'eligible/event',
      'decisions/s',
      'p50 µs',
      'p99 µs',
      'max µs',
      'CPU mean µs',
      'CPU p50 µs',
      'CPU p99 µs',
    ],
    ...r.sizes.map((s) => [
      f0(s.campaigns),
      f0(s.compileMs),
      f1(s.meanConsidered),
      f1(s.meanCandidates),
      f0(s.decisionsPerSec),
      f1(s.p50Us),
      f1(s.p99Us),
      f0(s.maxUs),
      f1(s.cpuUsPerDecision),
      f0(s.cpuP50Us),
      f0(s.cpuP99Us),
    ]),
  ];
  const c = r.comparison;
  const cmp = [
    ['engine', 'decisions/s', 'p50 µs', 'p99 µs', 'max µs', 'CPU mean µs', 'vs json-rules-engine'],
    [
      'json-rules-engine 7.3.1',
      f0(c.jsonRulesEngine.decisionsPerSec),
      f1(c.jsonRulesEngine.p50Us),
      f1(c.jsonRulesEngine.p99Us),
      f0(c.jsonRulesEngine.maxUs),
      f1(c.jsonRulesEngine.cpuUsPerDecision),
      '1×',
    ],
    [
      'nunchi (trigger index only)',
      f0(c.nunchiTriggerIndexOnly.decisionsPerSec),
      f1(c.nunchiTriggerIndexOnly.p50Us),
      f1(c.nunchiTriggerIndexOnly.p99Us),
      f0(c.nunchiTriggerIndexOnly.maxUs),
      f1(c.nunchiTriggerIndexOnly.cpuUsPerDecision),
      `${f0(c.ratioTriggerIndexOnly)}×`,
    ],
    [
      'nunchi (trigger + guard index)',
      f0(c.nunchi.decisionsPerSec),
      f1(c.nunchi.p50Us),
      f1(c.nunchi.p99Us),
      f0(c.nunchi.maxUs),
      f1(c.nunchi.cpuUsPerDecision),
      `${f0(c.ratio)}×`,
    ],
  ];
  return [
    `Decision engine — ${r.events.toLocaleString('en-US')} events with customers and context, seed ${r.seed}, Node ${r.node}`,
    '',
    table(rows),
    '',
    'p50/p99/max: wall clock per evaluate (includes preemption by other processes); CPU: process CPU time.',
    '',
    `Same ${f0(c.campaigns)} campaigns, same ${f0(c.events)} events; eligible campaigns identical on ${c.agreement}/${c.events} events:`,
    '',
    table(cmp),
  ].join('\n');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    line(rows[0]),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { flags } = benchArgs(
    'usage: node dist/bench/decision.js [--quick] [--json]\n  --quick  fewer campaigns and events (a smoke run)\n  --json   also print the figures as JSON',
    { quick: 'flag', json: 'flag' },
  );
  const quick = flags['quick'] === true;
  const t0 = Date.now();
  const result = await runDecisionBench({
    log: (l) => console.error(l),
    ...(quick ? { sizes: [100, 1000], measureMs: 1000, jreMs: 2000, events: 500 } : {}),
  });
  console.log(formatDecisionBench(result));
  console.error(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (flags['json']) console.log(JSON.stringify(result, null, 2));
}
