/**
 * The context snapshot: a pure function of a customer's daily rollup rows, recent events and the clock.
 * Hot path (every event): ~800 rows take ~25 µs (bench.ts). Each day string is parsed once (rows come grouped
 * by day), each dim once per call; the rest is integer comparisons and additions — no Date on the way.
 */
import {
  OMITTABLE_CONTEXT_PARTS,
  type KeyedContextPart,
  type OmittableContextPart,
} from '@nunchi/contracts/core';
import type { ContextSnapshot, OfferResponses, RecentEvent, WindowTotals, Windows } from '@nunchi/contracts';
import type { DailyRollup } from './daily-rollup.js';
import { parseDayIndex } from './day-index.js';
import { DIM_ALL, parseDim, type DimKind } from './dims.js';
import { localDayIndex } from './local-day.js';
import { sortRecent, RECENT_MAX } from './recent.js';
import { DEFAULT_RFM_THRESHOLDS, rfmScores, type RfmThresholds } from './rfm.js';
import { emptyWindows, WINDOW_DAYS } from './windows.js';

export interface SnapshotInput {
  customerId: string;
  /** the customer's daily rollup rows, any order; rows outside the 365-day window (or after today) are ignored */
  rows: readonly DailyRollup[];
  /** recent events, any order; deduplicated by id, newest first, at most 20 kept */
  recent: readonly RecentEvent[];
  /** epoch ms the snapshot describes; "today" is its local day in `timeZone` */
  nowMs: number;
  /** the business IANA time zone, the same the rollups were computed in (e.g. 'Asia/Seoul') */
  timeZone: string;
  /** store of the current event: its windows become `thisStore` (zeros when absent or unknown) */
  currentStoreId?: string;
  /** @default DEFAULT_RFM_THRESHOLDS */
  rfmThresholds?: RfmThresholds;
}

const D7 = WINDOW_DAYS.d7;
const D30 = WINDOW_DAYS.d30;
const D90 = WINDOW_DAYS.d90;
const D365 = WINDOW_DAYS.d365;

function add(t: WindowTotals, r: DailyRollup): void {
  t.spend += r.spend;
  t.purchases += r.purchases;
  t.visits += r.visits;
  t.items += r.items;
  t.events += r.events;
}

interface DimEntry {
  kind: Exclude<DimKind, 'all'>;
  name: string;
  windows: Windows;
  /** local days since the newest day with a row of this dim */
  newestAge: number;
}

/** The most spent-at name over 365 days; ties by name (code-unit order); "" when nothing was spent. */
function favourite(entries: readonly DimEntry[]): string {
  let best = '';
  let bestSpend = 0;
  for (const e of entries) {
    const s = e.windows.d365.spend;
    if (s > bestSpend || (s === bestSpend && s > 0 && e.name < best)) {
      best = e.name;
      bestSpend = s;
    }
  }
  return best;
}

function byName(a: DimEntry, b: DimEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Record keyed by name, keys ascending. Object.fromEntries defines own properties, so '__proto__' is safe. */
function record(entries: DimEntry[]): Record<string, Windows> {
  return Object.fromEntries(entries.sort(byName).map((e) => [e.name, e.windows]));
}

function isoInstant(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Derive a customer's context at `nowMs` (see docs/context-model.md for every field). Windows end today
 * (local day of `nowMs`) inclusive: d7 is today and the 6 days before. Rows must be unique per (day, dim),
 * as stored and as mergeRows keeps them; any order works, grouped by day is fastest.
 */
export function buildSnapshot(input: SnapshotInput): ContextSnapshot {
  const today = localDayIndex(input.nowMs, input.timeZone);
  const all = emptyWindows();
  const dims = new Map<string, DimEntry | null>();
  let lastVisitAge = Infinity;
  let lastPurchaseAge = Infinity;

  let prevDay = '';
  let prevAge = NaN;
  for (const r of input.rows) {
    let age: number;
    if (r.day === prevDay) age = prevAge;
    else {
      prevDay = r.day;
      age = prevAge = today - parseDayIndex(r.day);
    }
    if (!(age >= 0 && age < D365)) continue; // also skips malformed days (NaN)

    let w: Windows;
    if (r.dim === DIM_ALL) {
      w = all;
      if (r.visits > 0 && age < lastVisitAge) lastVisitAge = age;
      if (r.purchases > 0 && age < lastPurchaseAge) lastPurchaseAge = age;
    } else {
      let entry = dims.get(r.dim);
      if (entry === undefined) {
        const parsed = parseDim(r.dim);
        entry =
          parsed === undefined || parsed.kind === 'all'
            ? null
            : { kind: parsed.kind, name: parsed.name, windows: emptyWindows(), newestAge: age };
        dims.set(r.dim, entry);
      }
      if (entry === null) continue; // a dim this version does not know
      if (age < entry.newestAge) entry.newestAge = age;
      w = entry.windows;
    }
    addAged(w, r, age);
  }

  const stores: DimEntry[] = [];
  const categories: DimEntry[] = [];
  const channels: DimEntry[] = [];
  const answers: DimEntry[] = [];
  for (const e of dims.values()) {
    if (e === null) continue;
    if (e.kind === 'response') answers.push(e);
    else (e.kind === 'store' ? stores : e.kind === 'category' ? categories : channels).push(e);
  }
  const store = record(stores);
  const category = record(categories);
  const channel = record(channels);
  const current = input.currentStoreId;
  const thisStore = current !== undefined && Object.hasOwn(store, current) ? store[current] : emptyWindows();

  const daysSinceLastVisit = lastVisitAge === Infinity ? -1 : lastVisitAge;
  const daysSinceLastPurchase = lastPurchaseAge === Infinity ? -1 : lastPurchaseAge;
  return {
    customerId: input.customerId,
    asOf: isoInstant(input.nowMs),
    all,
    thisStore,
    store,
    category,
    channel,
    daysSinceLastVisit,
    daysSinceLastPurchase,
    rfm: rfmScores(
      daysSinceLastPurchase,
      all.d365.purchases,
      all.d365.spend,
      input.rfmThresholds ?? DEFAULT_RFM_THRESHOLDS,
    ),
    favouriteStore: favourite(stores),
    favouriteCategory: favourite(categories),
    recent: sortRecent(input.recent, RECENT_MAX),
    responses: responsesOf(answers),
  };
}

/** By campaign id (ascending): 30-day counts of each answer, and days since the latest dismissal. */
function responsesOf(entries: readonly DimEntry[]): Record<string, OfferResponses> {
  const byCampaign = new Map<string, OfferResponses>();
  for (const e of entries) {
    const colon = e.name.indexOf(':');
    const answer = e.name.slice(0, colon);
    const campaignId = e.name.slice(colon + 1);
    if (
      colon <= 0 ||
      campaignId === '' ||
      (answer !== 'accepted' && answer !== 'redeemed' && answer !== 'dismissed')
    )
      continue;
    let r = byCampaign.get(campaignId);
    if (r === undefined)
      byCampaign.set(campaignId, (r = { accepted: 0, redeemed: 0, dismissed: 0, daysSinceDismissed: -1 }));
    r[answer] += e.windows.d30.events;
    if (answer === 'dismissed') r.daysSinceDismissed = e.newestAge;
  }
  return Object.fromEntries([...byCampaign].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The snapshot of a customer with no history: all zeros, -1 recencies, RFM 0, no favourites, no recent events. */
export function emptySnapshot(customerId: string, nowMs: number): ContextSnapshot {
  return {
    customerId,
    asOf: isoInstant(nowMs),
    all: emptyWindows(),
    thisStore: emptyWindows(),
    store: {},
    category: {},
    channel: {},
    daysSinceLastVisit: -1,
    daysSinceLastPurchase: -1,
    rfm: { r: 0, f: 0, m: 0 },
    favouriteStore: '',
    favouriteCategory: '',
    recent: [],
    responses: {},
  };
}

/** The `all` windows and what follows from them alone: the recencies and RFM. */
interface AllPart {
  all: Windows;
  daysSinceLastVisit: number;
  daysSinceLastPurchase: number;
  rfm: ContextSnapshot['rfm'];
}

/**
 * buildSnapshot(input), each part computed when first read: `all`, the recencies and RFM from the `all`
 * rows alone, `thisStore` from the current store's rows alone, the rest (store, category and channel
 * records, favourites, responses) by buildSnapshot itself. For a replay that reads a few fields of many
 * snapshots (simulation on history: an audience on `ctx.all.d30.spend` reads one). Every field equals
 * buildSnapshot's: the same rows, in the same order, through the same sums (snapshot.property.spec.ts).
 */
export function snapshotView(input: SnapshotInput): ContextSnapshot {
  return new SnapshotView(input);
}

class SnapshotView implements ContextSnapshot {
  readonly #input: SnapshotInput;
  #full: ContextSnapshot | undefined;
  #all: AllPart | undefined;
  #thisStore: Windows | undefined;
  #recent: RecentEvent[] | undefined;

  constructor(input: SnapshotInput) {
    this.#input = input;
  }

  get #whole(): ContextSnapshot {
    return (this.#full ??= buildSnapshot(this.#input));
  }

  get #allPart(): AllPart {
    if (this.#all) return this.#all;
    if (this.#full) return (this.#all = this.#full as AllPart);
    const input = this.#input;
    const today = localDayIndex(input.nowMs, input.timeZone);
    const all = emptyWindows();
    let lastVisitAge = Infinity;
    let lastPurchaseAge = Infinity;
    forEachRowOfYear(input.rows, DIM_ALL, today, (r, age) => {
      if (r.visits > 0 && age < lastVisitAge) lastVisitAge = age;
      if (r.purchases > 0 && age < lastPurchaseAge) lastPurchaseAge = age;
      addAged(all, r, age);
    });
    const daysSinceLastPurchase = lastPurchaseAge === Infinity ? -1 : lastPurchaseAge;
    return (this.#all = {
      all,
      daysSinceLastVisit: lastVisitAge === Infinity ? -1 : lastVisitAge,
      daysSinceLastPurchase,
      rfm: rfmScores(
        daysSinceLastPurchase,
        all.d365.purchases,
        all.d365.spend,
        input.rfmThresholds ?? DEFAULT_RFM_THRESHOLDS,
      ),
    });
  }

  get customerId(): string {
    return this.#input.customerId;
  }
  get asOf(): string {
    return this.#full?.asOf ?? isoInstant(this.#input.nowMs);
  }
  get all(): Windows {
    return this.#allPart.all;
  }
  get daysSinceLastVisit(): number {
    return this.#allPart.daysSinceLastVisit;
  }
  get daysSinceLastPurchase(): number {
    return this.#allPart.daysSinceLastPurchase;
  }
  get rfm(): ContextSnapshot['rfm'] {
    return this.#allPart.rfm;
  }
  get thisStore(): Windows {
    if (this.#thisStore) return this.#thisStore;
    if (this.#full) return (this.#thisStore = this.#full.thisStore);
    const input = this.#input;
    const current = input.currentStoreId;
    const w = emptyWindows();
    // buildSnapshot's store record holds the rows of dim `store:<id>` by id: an empty id is no dim.
    if (current !== undefined && current !== '') {
      const dim = `store:${current}`;
      const today = localDayIndex(input.nowMs, input.timeZone);
      forEachRowOfYear(input.rows, dim, today, (r, age) => addAged(w, r, age));
    }
    return (this.#thisStore = w);
  }
  get store(): Record<string, Windows> {
    return this.#whole.store;
  }
  get category(): Record<string, Windows> {
    return this.#whole.category;
  }
  get channel(): Record<string, Windows> {
    return this.#whole.channel;
  }
  get favouriteStore(): string {
    return this.#whole.favouriteStore;
  }
  get favouriteCategory(): string {
    return this.#whole.favouriteCategory;
  }
  get recent(): RecentEvent[] {
    return (this.#recent ??= this.#full?.recent ?? sortRecent(this.#input.recent, RECENT_MAX));
  }
  get responses(): Record<string, OfferResponses> {
    return this.#whole.responses;
  }
}

/** A row into the windows it falls in, at `age` days before today (0 ≤ age < 365), as buildSnapshot adds. */
/**
 * Calls `fn` with each row of `dim` that is 0–364 days old (`today` a local day index), and its age in days;
 * rows of one day come together, so a day is parsed once.
 */
function forEachRowOfYear(
  rows: readonly DailyRollup[],
  dim: string,
  today: number,
  fn: (row: DailyRollup, age: number) => void,
): void {
  let prevDay = '';
  let prevAge = NaN;
  for (const r of rows) {
    if (r.dim !== dim) continue;
    let age: number;
    if (r.day === prevDay) age = prevAge;
    else {
      prevDay = r.day;
      age = prevAge = today - parseDayIndex(r.day);
    }
    if (age >= 0 && age < D365) fn(r, age);
  }
}

function addAged(w: Windows, r: DailyRollup, age: number): void {
  add(w.d365, r);
  if (age < D90) {
    add(w.d90, r);
    if (age < D30) {
      add(w.d30, r);
      if (age < D7) add(w.d7, r);
    }
  }
}

/**
 * The snapshot as ENRICHED carries it: only the omittable parts `read` names (CampaignSet.contextPartsRead),
 * the others empty and listed in `omitted`, so that a reader can tell "left out" from "none" (a campaign
 * reading one gets an evaluation error, not a zero). Of the maps by name, those in `keysOnly`
 * (CampaignSet.contextKeysRead) keep just the entries of those names, listed in `carriedKeys`. Most of a
 * regular's snapshot is its recent events and the maps by category and store.
 */
export function withOnlyPartsRead(
  ctx: ContextSnapshot,
  read: ReadonlySet<OmittableContextPart>,
  keysOnly: ReadonlyMap<KeyedContextPart, ReadonlySet<string>> = new Map(),
): ContextSnapshot {
  const omitted = OMITTABLE_CONTEXT_PARTS.filter((part) => !read.has(part));
  const partial = [...keysOnly].filter(([part]) => read.has(part));
  if (omitted.length === 0 && partial.length === 0) return ctx;
  const out: ContextSnapshot = { ...ctx, ...(omitted.length > 0 ? { omitted } : {}) };
  for (const part of omitted) {
    if (part === 'recent') out.recent = [];
    else out[part] = {};
  }
  if (partial.length > 0) {
    const carriedKeys: NonNullable<ContextSnapshot['carriedKeys']> = {};
    for (const [part, names] of partial) {
      const all = ctx[part];
      // Object.fromEntries defines own properties (as record() does): a category named __proto__ is an entry
      out[part] = Object.fromEntries([...names].filter((n) => Object.hasOwn(all, n)).map((n) => [n, all[n]]));
      carriedKeys[part] = [...names];
    }
    out.carriedKeys = carriedKeys;
  }
  return out;
}
