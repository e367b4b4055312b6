import { Environment } from '@marcbachmann/cel-js';
import type {
  AcceptedEvent,
  ContextSnapshot,
  CustomerProfile,
  OfferResponses,
  RecentEvent,
  WindowTotals,
  Windows,
} from '@nunchi/contracts';
import type { KeyedContextPart, OmittableContextPart } from '@nunchi/contracts/core';
import { CEL_LIMITS } from './cel-budget.js';

/**
 * The CEL world of a campaign: four variables (event, customer, ctx, now), each a declared message
 * type so that expressions are type-checked once, at campaign compile time ("customer.agee" or
 * "customer.region > 5" never reach production). docs/cel-reference.md documents every field.
 *
 * Numbers: every number a campaign can read is a CEL `double` (a plain JS number, no BigInt
 * conversion per event). Integer literals mix freely with them: comparisons across int/double are
 * standard CEL, and this environment adds ==, !=, `in`, + - * / % overloads between double and int
 * (result double), so `event.amount >= 100000`, `customer.age == 35`, `now.weekday in [5, 6]` and
 * `ctx.all.d30.spend / 2` all type-check and behave as written.
 *
 * Maps: ctx.store, ctx.category, ctx.channel and customer.attributes are *total*: a key with no entry
 * reads as all-zero windows (or "" for attributes) instead of failing, so
 * `ctx.category.beer.d30.spend > 0` is safe for a customer who never bought beer. Consequently
 * `'beer' in ctx.category` and `has(ctx.category.beer)` are always true; test activity with a count
 * (`ctx.category.beer.d365.purchases > 0`). size() and the exists()/all() macros see the real keys.
 */

// ---------------------------------------------------------------- runtime values (one set per event)

export class CelTotals {
  constructor(
    readonly spend: number,
    readonly purchases: number,
    readonly visits: number,
    readonly items: number,
    readonly events: number,
  ) {}
}

export class CelWindows {
  constructor(
    readonly d7: CelTotals,
    readonly d30: CelTotals,
    readonly d90: CelTotals,
    readonly d365: CelTotals,
  ) {}
}

const ZERO_TOTALS = Object.freeze(new CelTotals(0, 0, 0, 0, 0));
export const ZERO_WINDOWS = Object.freeze(new CelWindows(ZERO_TOTALS, ZERO_TOTALS, ZERO_TOTALS, ZERO_TOTALS));

function totalsOf(t: WindowTotals | undefined): CelTotals {
  if (!t) return ZERO_TOTALS;
  return new CelTotals(t.spend ?? 0, t.purchases ?? 0, t.visits ?? 0, t.items ?? 0, t.events ?? 0);
}

function windowsOf(w: Windows | undefined): CelWindows {
  if (!w) return ZERO_WINDOWS;
  return new CelWindows(totalsOf(w.d7), totalsOf(w.d30), totalsOf(w.d90), totalsOf(w.d365));
}

export class CelRfm {
  constructor(
    readonly r: number,
    readonly f: number,
    readonly m: number,
  ) {}
}

/** `ctx.responses[campaignId]`: the customer's answers to that campaign's offers (zeros, -1 when none). */
export class CelResponses {
  constructor(
    readonly accepted: number,
    readonly redeemed: number,
    readonly dismissed: number,
    readonly daysSinceDismissed: number,
  ) {}
}

const NO_RESPONSES = new CelResponses(0, 0, 0, -1);

function responsesMap(src: Record<string, OfferResponses> | undefined): TotalMap<CelResponses> {
  const m = totalMap<CelResponses>(NO_RESPONSES);
  if (src)
    for (const k in src) {
      const r = src[k];
      m.set(k, new CelResponses(r.accepted, r.redeemed, r.dismissed, r.daysSinceDismissed));
    }
  return m;
}

export class CelRecentEvent {
  readonly id: string;
  readonly type: string;
  readonly channel: string;
  readonly occurredAt: string;
  /** epoch milliseconds of occurredAt */
  readonly occurredAtMs: number;
  readonly storeId: string;
  readonly amount: number;
  constructor(e: RecentEvent) {
    this.id = e.id;
    this.type = e.type;
    this.channel = e.channel;
    this.occurredAt = e.occurredAt;
    this.occurredAtMs = e.occurredAtMs ?? Date.parse(e.occurredAt);
    this.storeId = e.storeId ?? '';
    this.amount = e.amount ?? 0;
  }
}

const MISSING = Symbol('missing');
type TotalMap<V> = Map<string, V> & { [MISSING]: V };

function totalGet<V>(this: TotalMap<V>, key: string): V {
  const v = Map.prototype.get.call(this, key) as V | undefined;
  return v === undefined ? this[MISSING] : v;
}

/**
 * A JS Map whose get() answers `missing` for absent keys. cel-js reads map entries through get()
 * (a spec test pins this), so CEL access of an absent key yields the default instead of an error.
 */
function totalMap<V>(missing: V): TotalMap<V> {
  const m = new Map<string, V>() as TotalMap<V>;
  m[MISSING] = missing;
  (m as { get: (k: string) => V }).get = totalGet;
  return m;
}

/**
 * Like totalMap, for windows: entries hold the snapshot's plain objects and are converted to
 * CelWindows on first read, so an event pays only for the categories/stores its rules look at.
 * (Keys are real from the start: size() and exists() see them. CEL reaches map values only via get.)
 */
function windowsGet(this: TotalMap<CelWindows | Windows>, key: string): CelWindows {
  const v = Map.prototype.get.call(this, key) as CelWindows | Windows | undefined;
  if (v === undefined) return ZERO_WINDOWS;
  if (v instanceof CelWindows) return v;
  const w = windowsOf(v);
  Map.prototype.set.call(this, key, w);
  return w;
}

function windowsMap(src: Record<string, Windows> | undefined): Map<string, CelWindows> {
  const m = new Map<string, CelWindows | Windows>();
  if (src) for (const k in src) m.set(k, src[k]);
  (m as { get: (k: string) => CelWindows }).get = windowsGet;
  return m;
}

/** `event`: the accepted event, with purchase/cart/product_view facts lifted to the top. */
export class CelEvent {
  readonly id: string;
  readonly type: string;
  readonly channel: string;
  /** "" when the event has no store */
  readonly storeId: string;
  /** the store's display name; "" when the event carried none */
  readonly storeName: string;
  readonly customerId: string;
  readonly occurredAt: string;
  readonly occurredAtMs: number;
  readonly receivedAtMs: number;
  /** purchase: payload.amount; cart: quantity × unitPrice; product_view: price; else 0 — major unit */
  readonly amount: number;
  readonly currency: string;
  /** distinct item categories (purchase), or [payload.category] (cart, product_view), else [] */
  readonly categories: string[];
  /** distinct SKUs, like categories */
  readonly skus: string[];
  /** purchase: Σ item quantity; cart: quantity; product_view: 1; else 0 */
  readonly items: number;
  readonly payload: Record<string, unknown>;

  constructor(e: AcceptedEvent) {
    this.id = e.id;
    this.type = e.type;
    this.channel = e.channel;
    this.storeId = e.storeId ?? '';
    this.storeName = e.storeName ?? '';
    this.customerId = e.customerId;
    this.occurredAt = e.occurredAt;
    this.occurredAtMs = e.occurredAtMs;
    this.receivedAtMs = e.receivedAtMs;
    const p = e.payload ?? {};
    this.payload = p;
    let amount = 0;
    let items = 0;
    let categories: string[] = NONE;
    let skus: string[] = NONE;
    if (e.type === 'purchase') {
      amount = num(p.amount);
      const lines = Array.isArray(p.items) ? (p.items as Array<Record<string, unknown>>) : [];
      if (lines.length > 0) {
        categories = [];
        skus = [];
        for (const line of lines) {
          items += num(line.quantity);
          const c = line.category;
          if (typeof c === 'string' && !categories.includes(c)) categories.push(c);
          const s = line.sku;
          if (typeof s === 'string' && !skus.includes(s)) skus.push(s);
        }
      }
    } else if (e.type === 'cart' || e.type === 'product_view') {
      if (typeof p.category === 'string') categories = [p.category];
      if (typeof p.sku === 'string') skus = [p.sku];
      if (e.type === 'cart') {
        items = num(p.quantity);
        amount = items * num(p.unitPrice);
      } else {
        items = 1;
        amount = num(p.price);
      }
    }
    this.amount = amount;
    this.items = items;
    this.categories = categories;
    this.skus = skus;
    this.currency = typeof p.currency === 'string' ? p.currency : '';
  }
}

const NONE: string[] = [];
Object.freeze(NONE);

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * `customer`: the profile. Unknown values have defaults so that rules are false rather than errors:
 * strings "", age NaN (every comparison with NaN is false: neither `age >= 30` nor `age < 30` holds),
 * marketingConsent false, attributes total ("" for any key). `known` is false without a profile.
 */
export class CelCustomer {
  readonly id: string;
  readonly known: boolean;
  readonly age: number;
  readonly gender: string;
  readonly region: string;
  readonly creditTier: string;
  readonly marketingConsent: boolean;
  #src: Record<string, string> | undefined;
  #attributes: TotalMap<string> | undefined;

  constructor(p: CustomerProfile | null, customerId: string) {
    this.id = p?.id ?? customerId;
    this.known = p !== null;
    this.age = typeof p?.age === 'number' ? p.age : NaN;
    this.gender = p?.gender ?? '';
    this.region = p?.region ?? '';
    this.creditTier = p?.creditTier ?? '';
    this.marketingConsent = p?.marketingConsent === true;
    this.#src = p?.attributes;
  }

  get attributes(): TotalMap<string> {
    if (this.#attributes === undefined) {
      const m = totalMap<string>('');
      const src = this.#src;
      if (src) for (const k in src) if (typeof src[k] === 'string') m.set(k, src[k]);
      this.#attributes = m;
    }
    return this.#attributes;
  }
}

/**
 * `ctx`: the context snapshot; each part is read and converted on first use only (simulation hands in a
 * snapshot built when first read: an evaluation that never reads ctx never builds it).
 */
export class CelContext {
  #src: ContextSnapshot;
  #all: CelWindows | undefined;
  #thisStore: CelWindows | undefined;
  #store: Map<string, CelWindows> | undefined;
  #category: Map<string, CelWindows> | undefined;
  #channel: Map<string, CelWindows> | undefined;
  #rfm: CelRfm | undefined;
  #recent: CelRecentEvent[] | undefined;
  #responses: TotalMap<CelResponses> | undefined;

  constructor(c: ContextSnapshot) {
    this.#src = c;
  }

  get customerId(): string {
    return this.#src.customerId;
  }
  get asOf(): string {
    return this.#src.asOf;
  }
  get daysSinceLastVisit(): number {
    return this.#src.daysSinceLastVisit ?? -1;
  }
  get daysSinceLastPurchase(): number {
    return this.#src.daysSinceLastPurchase ?? -1;
  }
  get favouriteStore(): string {
    return this.#src.favouriteStore ?? '';
  }
  get favouriteCategory(): string {
    return this.#src.favouriteCategory ?? '';
  }
  get all(): CelWindows {
    return (this.#all ??= windowsOf(this.#src.all));
  }
  get thisStore(): CelWindows {
    return (this.#thisStore ??= windowsOf(this.#src.thisStore));
  }
  get store(): Map<string, CelWindows> {
    return (this.#store ??= this.#windowsOf('store'));
  }
  get category(): Map<string, CelWindows> {
    return (this.#category ??= this.#windowsOf('category'));
  }
  get channel(): Map<string, CelWindows> {
    return (this.#channel ??= this.#windowsOf('channel'));
  }
  get rfm(): CelRfm {
    const r = this.#src.rfm;
    return (this.#rfm ??= new CelRfm(r?.r ?? 0, r?.f ?? 0, r?.m ?? 0));
  }
  get recent(): CelRecentEvent[] {
    return (this.#recent ??= (this.#carried('recent') ?? []).map((e) => new CelRecentEvent(e)));
  }
  get responses(): TotalMap<CelResponses> {
    return (this.#responses ??= responsesMap(this.#carried('responses')));
  }

  /** A map by name; carried for some names only (ContextSnapshot.carriedKeys), any other use is an error. */
  #windowsOf(part: KeyedContextPart): Map<string, CelWindows> {
    const map = windowsMap(this.#carried(part));
    const names = this.#src.carriedKeys?.[part];
    return names ? onlyNames(map, part, new Set(names)) : map;
  }

  /** A part of the snapshot; one ENRICHED left out (ContextSnapshot.omitted) is an error, never a zero. */
  #carried<K extends OmittableContextPart>(part: K): ContextSnapshot[K] {
    if (this.#src.omitted?.includes(part)) throw new Error(omittedDetail(part));
    return this.#src[part];
  }
}

/** Why a campaign could not be decided on a snapshot without a part it reads (ContextSnapshot.omitted). */
export function omittedDetail(part: string): string {
  return `ctx.${part} was not carried: the event was enriched before context loaded a campaign that reads it`;
}

/**
 * A map by name carried for `names` only: an entry of one of them reads as usual (a zero when the customer has
 * none), anything else — another name, the size, the keys — throws, since the answer would be wrong. cel-js
 * reads entries through get() (also for `in` and has()), the size through `size`, the keys by iterating.
 */
function onlyNames(
  map: Map<string, CelWindows>,
  part: KeyedContextPart,
  names: ReadonlySet<string>,
): Map<string, CelWindows> {
  const get = map.get.bind(map);
  const whole = (): never => {
    throw new Error(
      `ctx.${part} was carried only for ${[...names].map((n) => `'${n}'`).join(', ')}: the event was enriched before context loaded a campaign that reads it whole`,
    );
  };
  Object.defineProperties(map, {
    get: {
      value: (name: string) => {
        if (!names.has(name)) throw new Error(omittedDetail(`${part}['${name}']`));
        return get(name);
      },
    },
    size: { get: whole },
    has: { value: whole },
    keys: { value: whole },
    values: { value: whole },
    entries: { value: whole },
    forEach: { value: whole },
    [Symbol.iterator]: { value: whole },
  });
  return map;
}

/** `now`: the decision instant in the campaign's time zone. */
export class CelNow {
  constructor(
    /** 0-23 */
    readonly hour: number,
    /** 0-59 */
    readonly minute: number,
    /** 0 = Sunday … 6 = Saturday */
    readonly weekday: number,
    /** local date 'YYYY-MM-DD' */
    readonly date: string,
    /** the instant, epoch milliseconds */
    readonly epochMs: number,
    /** the IANA zone these fields are in */
    readonly timezone: string,
  ) {}
}

// ---------------------------------------------------------------- declarations

/** Field types, also the source of docs/cel-reference.md's tables (a spec test compares). */
export const CEL_TYPES = {
  Totals: { spend: 'double', purchases: 'double', visits: 'double', items: 'double', events: 'double' },
  Windows: { d7: 'Totals', d30: 'Totals', d90: 'Totals', d365: 'Totals' },
  Rfm: { r: 'double', f: 'double', m: 'double' },
  Responses: { accepted: 'double', redeemed: 'double', dismissed: 'double', daysSinceDismissed: 'double' },
  RecentEvent: {
    id: 'string',
    type: 'string',
    channel: 'string',
    occurredAt: 'string',
    occurredAtMs: 'double',
    storeId: 'string',
    amount: 'double',
  },
  Event: {
    id: 'string',
    type: 'string',
    channel: 'string',
    storeId: 'string',
    storeName: 'string',
    customerId: 'string',
    occurredAt: 'string',
    occurredAtMs: 'double',
    receivedAtMs: 'double',
    amount: 'double',
    currency: 'string',
    categories: 'list<string>',
    skus: 'list<string>',
    items: 'double',
    payload: 'map<string, dyn>',
  },
  Customer: {
    id: 'string',
    known: 'bool',
    age: 'double',
    gender: 'string',
    region: 'string',
    creditTier: 'string',
    marketingConsent: 'bool',
    attributes: 'map<string, string>',
  },
  Context: {
    customerId: 'string',
    asOf: 'string',
    all: 'Windows',
    thisStore: 'Windows',
    store: 'map<string, Windows>',
    category: 'map<string, Windows>',
    channel: 'map<string, Windows>',
    daysSinceLastVisit: 'double',
    daysSinceLastPurchase: 'double',
    rfm: 'Rfm',
    favouriteStore: 'string',
    favouriteCategory: 'string',
    recent: 'list<RecentEvent>',
    responses: 'map<string, Responses>',
  },
  Now: {
    hour: 'double',
    minute: 'double',
    weekday: 'double',
    date: 'string',
    epochMs: 'double',
    timezone: 'string',
  },
} as const;

export const CEL_VARIABLES = { event: 'Event', customer: 'Customer', ctx: 'Context', now: 'Now' } as const;
export type CelVariableName = keyof typeof CEL_VARIABLES;

/** The activation handed to every compiled expression. */
export interface CelVars {
  event: CelEvent;
  customer: CelCustomer;
  ctx: CelContext;
  now: CelNow;
}

function listIncludes(value: number | bigint, list: Iterable<unknown>): boolean {
  const n = Number(value);
  for (const v of list) if ((typeof v === 'bigint' || typeof v === 'number') && Number(v) === n) return true;
  return false;
}

function createEnvironment(): Environment {
  const env = new Environment({
    // [1, 2.5] is refused at compile time (write [1.0, 2.5]): with mixed lists cel-js can only fail at run time
    homogeneousAggregateLiterals: true,
    // expression size and nesting: see cel-budget.ts (the rest of the budget is checked in cel-cost.ts)
    limits: {
      maxAstNodes: CEL_LIMITS.maxAstNodes,
      maxDepth: CEL_LIMITS.maxDepth,
      maxListElements: CEL_LIMITS.maxListElements,
      maxMapEntries: CEL_LIMITS.maxMapEntries,
      maxCallArguments: 16,
    },
  });
  const ctors: Record<keyof typeof CEL_TYPES, new (...args: never[]) => object> = {
    Totals: CelTotals,
    Windows: CelWindows,
    Rfm: CelRfm,
    Responses: CelResponses,
    RecentEvent: CelRecentEvent,
    Event: CelEvent,
    Customer: CelCustomer,
    Context: CelContext,
    Now: CelNow,
  };
  for (const name of Object.keys(CEL_TYPES) as Array<keyof typeof CEL_TYPES>) {
    env.registerType(name, { ctor: ctors[name], fields: { ...CEL_TYPES[name] } });
  }
  for (const [name, type] of Object.entries(CEL_VARIABLES)) env.registerVariable(name, type);

  // double ⇄ int: see the header comment. int == double already exists in cel-js.
  env.registerOperator('double == int', (a: number, b: bigint) => a === Number(b));
  env.registerOperator('double in list<int>', (a: number, l: Iterable<unknown>) => listIncludes(a, l));
  env.registerOperator('int in list<double>', (a: bigint, l: Iterable<unknown>) => listIncludes(a, l));
  env.registerOperator('double + int: double', (a: number, b: bigint) => a + Number(b));
  env.registerOperator('double - int: double', (a: number, b: bigint) => a - Number(b));
  env.registerOperator('double * int: double', (a: number, b: bigint) => a * Number(b));
  env.registerOperator('double / int: double', (a: number, b: bigint) => a / Number(b));
  env.registerOperator('double % int: double', (a: number, b: bigint) => a % Number(b));
  env.registerOperator('double % double: double', (a: number, b: number) => a % b);
  env.registerOperator('int + double: double', (a: bigint, b: number) => Number(a) + b);
  env.registerOperator('int - double: double', (a: bigint, b: number) => Number(a) - b);
  env.registerOperator('int * double: double', (a: bigint, b: number) => Number(a) * b);
  env.registerOperator('int / double: double', (a: bigint, b: number) => Number(a) / b);
  return env;
}

/** One environment for the process: creating one is expensive, using it is not. */
export const celEnvironment: Environment = createEnvironment();
