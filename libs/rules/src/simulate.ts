/**
 * Simulation on history: the live pipeline — context fold, evaluation, arbitration, holdout, caps, the
 * contact policy and budgets — replayed over stored events, in memory. The same code decides as live:
 * libs/context-model foldEvent and buildSnapshot build the context (as apps/context does), CampaignSet
 * evaluates, and the walk over the candidates is the one of apps/decision/src/choose-offer.ts without its
 * I/O: the contact ledger (contact-ledger.ts) and the budget totals (limits.ts) live in maps here instead of
 * Cassandra rows. Pure: no clock, no I/O; the caller reads the events, the campaigns' versions and each
 * customer's history before the period, and feeds the events in the order live received them.
 *
 * What it does not reproduce (docs/campaigns.md "Simulation on history"): the deadline (nothing is `late`),
 * ledgers and budgets used before the period (they start empty at --from), and profile fields set outside
 * events (the profile is the stored one, as it is now).
 */
import {
  dayFromIndex,
  DeferredContext,
  localDayIndex,
  snapshotView,
  zoneOffsetMs,
  type DailyRollup,
} from '@nunchi/context-model';
import { decisionIdOf, type CandidateLoss } from '@nunchi/contracts/core';
import type { AcceptedEvent, ContextSnapshot, CustomerProfile, RecentEvent } from '@nunchi/contracts';
import { CampaignSet, lowerRankLosses, type CampaignSetOptions } from './campaign-set.js';
import type { CompiledCampaign } from './compile-campaign.js';
import { EMPTY_LEDGER, usageOf, withClaim, type ContactLedger } from './contact-ledger.js';
import { NO_USAGE, type Candidate, type Evaluation } from './decision.types.js';
import { budgetLoss, fitsBudget, hasBudget, hasCaps, type BudgetUsed } from './limits.js';
import type { StatefulPattern } from './patterns/compile-pattern.js';
import {
  EMPTY_PATTERN_STATE,
  fireAbsence,
  foldPatterns,
  type PatternState,
  type TimerChange,
} from './patterns/pattern-state.js';

const NO_PATTERNS: readonly StatefulPattern[] = Object.freeze([]);
const NO_MATCHES: readonly string[] = Object.freeze([]);

// ── campaigns over time ─────────────────────────────────────────────────────────────────────────────────

/** One version of a campaign and the instant it was applied; `campaign` null when it is not active. */
export interface VersionFrom {
  /** epoch ms from which this version is the current one */
  fromMs: number;
  version: number;
  campaign: CompiledCampaign | null;
}

/** A campaign's versions in the order applied (fromMs ascending). */
export interface CampaignTimeline {
  campaignId: string;
  versions: readonly VersionFrom[];
}

/** A timeline with one version active throughout (a draft file, or a stored version tried as is). */
export function alwaysActive(campaign: CompiledCampaign): CampaignTimeline {
  return { campaignId: campaign.id, versions: [{ fromMs: -Infinity, version: campaign.version, campaign }] };
}

/**
 * The campaign sets in force over time: the set at an instant holds, of each campaign, the version
 * current then (the last applied at or before it) when that version is active. One CampaignSet is built
 * per interval between two changes, so the events of an interval share it (as live, between reloads).
 */
export class SetsOverTime {
  readonly #changes: number[];
  readonly #sets = new Map<number, CampaignSet>();

  constructor(
    private readonly timelines: readonly CampaignTimeline[],
    private readonly options: CampaignSetOptions = {},
  ) {
    this.#changes = [...new Set(timelines.flatMap((t) => t.versions.map((v) => v.fromMs)))].sort(
      (a, b) => a - b,
    );
  }

  at(ms: number): CampaignSet {
    // Index of the last change at or before ms (−1: before every change).
    let lo = 0;
    let hi = this.#changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#changes[mid] <= ms) lo = mid + 1;
      else hi = mid;
    }
    const interval = lo - 1;
    let set = this.#sets.get(interval);
    if (!set) {
      const start = interval < 0 ? -Infinity : this.#changes[interval];
      const active: CompiledCampaign[] = [];
      for (const t of this.timelines) {
        let current: VersionFrom | undefined;
        for (const v of t.versions) if (v.fromMs <= start) current = v;
        if (current?.campaign) active.push(current.campaign);
      }
      set = new CampaignSet(active, this.options);
      this.#sets.set(interval, set);
    }
    return set;
  }
}

// ── context ─────────────────────────────────────────────────────────────────────────────────────────────

/** A customer as stored before the simulated events: profile, rollups of earlier days, recent events. */
export interface CustomerBase {
  profile: CustomerProfile | null;
  /** daily rollup rows of days before the first replayed day (later rows are ignored) */
  rows: readonly DailyRollup[];
  /** recent events before the first replayed day */
  recent: readonly RecentEvent[];
}

/**
 * Every customer's context as the context service had it, event after event: the live fold at the instant
 * live processed the event (its receipt) — deferred (DeferredContext: the same rows and recent list as
 * foldEvent and foldIntoClosedDay, computed when read) — and the snapshot live built from the result
 * (apps/context/src/customer-snapshot.ts). Days from `firstDay` on are replayed from the given events;
 * earlier days come from each customer's base.
 */
export class ContextReplay {
  readonly #contexts = new Map<string, DeferredContext>();
  /** customer id → partial matches of the stateful patterns (docs/patterns.md) */
  readonly #patterns = new Map<string, PatternState>();

  constructor(
    private readonly timeZone: string,
    /** day index (business time zone) of the first replayed day */
    private readonly firstDay: number,
    private readonly baseOf: (customerId: string) => CustomerBase | undefined,
  ) {}

  /**
   * Folds the event; its profile and snapshot (built when first read, and only while no later event of the
   * customer was folded: most events trigger nothing and need none), or undefined when it was folded before
   * (a repeat: live skips it).
   */
  fold(
    event: AcceptedEvent,
    /** the stateful patterns active when the event was processed (the union of the sets decided with) */
    patterns: readonly StatefulPattern[] = NO_PATTERNS,
  ):
    | {
        customer: CustomerProfile | null;
        ctx: ContextSnapshot;
        patterns: readonly string[];
        /** absence timers this event armed or cleared */
        timers: readonly TimerChange[];
      }
    | undefined {
    const customerId = event.customerId;
    let context = this.#contexts.get(customerId);
    if (!context) {
      const base = this.baseOf(customerId);
      const first = dayFromIndex(this.firstDay);
      context = new DeferredContext(
        {
          profile: base?.profile ?? null,
          rows: (base?.rows ?? []).filter((r) => r.day < first),
          recent: base?.recent ?? [],
        },
        { timeZone: this.timeZone, firstDay: this.firstDay },
      );
      this.#contexts.set(customerId, context);
    }
    if (context.fold(event, event.receivedAtMs) !== 'applied') return undefined;
    // As the context service: partial matches are folded only while a campaign has a stateful pattern.
    let matched: readonly string[] = NO_MATCHES;
    let timers: readonly TimerChange[] = [];
    const before = this.#patterns.get(customerId);
    if (patterns.length > 0 || before) {
      const fold = foldPatterns(before ?? EMPTY_PATTERN_STATE, event, patterns);
      this.#patterns.set(customerId, fold.state);
      matched = fold.matched;
      timers = fold.timers;
    }
    return {
      patterns: matched,
      timers,
      customer: context.profile,
      ctx: new LazySnapshot(customerId, context, event.receivedAtMs, this.timeZone, event.storeId),
    };
  }

  /**
   * Fires a due absence timer of a replayed customer, as the context service does (fireAbsence on the
   * customer's pattern state): the synthetic event with the customer's profile and context at its due time,
   * or undefined when the timer was cancelled or re-armed since it was armed.
   */
  fire(
    timer: PendingTimer,
    pattern: Extract<StatefulPattern, { kind: 'absence' }>,
    timeZone: string,
  ): { event: AcceptedEvent; customer: CustomerProfile | null; ctx: ContextSnapshot } | undefined {
    const state = this.#patterns.get(timer.customerId);
    const slot = state?.slots[pattern.key];
    if (!state || slot?.kind !== 'absence' || slot.timer?.anchorEventId !== timer.anchorEventId)
      return undefined;
    const fired = fireAbsence(state, timer.customerId, pattern, timer.dueMs, timeZone);
    if (!fired) return undefined;
    this.#patterns.set(timer.customerId, fired.state);
    const context = this.#contexts.get(timer.customerId);
    return {
      event: fired.event,
      customer: context?.profile ?? null,
      ctx: new LazySnapshot(timer.customerId, context, timer.dueMs, this.timeZone, undefined),
    };
  }
}

/** An absence timer armed during a replay, in the order it comes due. */
export interface PendingTimer {
  readonly dueMs: number;
  readonly customerId: string;
  readonly patternKey: string;
  readonly anchorEventId: string;
}

/**
 * The snapshot live built from a folded context (buildSnapshot, as apps/context/src/customer-snapshot.ts),
 * built when a field is first read, and then only the parts read (snapshotView): most events trigger
 * nothing, most evaluations decide on the event and the profile alone (CelContext reads ctx only when an
 * expression does), and most that read it read `ctx.all` or `ctx.thisStore`. It describes the context
 * after the fold that made it: read after a later fold of the customer, it throws rather than describe
 * another one.
 */
class LazySnapshot implements ContextSnapshot {
  readonly #folds: number;
  #built: ContextSnapshot | undefined;

  constructor(
    readonly customerId: string,
    private readonly context: DeferredContext | undefined,
    private readonly nowMs: number,
    private readonly timeZone: string,
    private readonly currentStoreId: string | undefined,
  ) {
    this.#folds = context?.folds ?? 0;
  }

  get #s(): ContextSnapshot {
    return (this.#built ??= this.#build());
  }

  #build(): ContextSnapshot {
    const context = this.context?.context();
    if ((this.context?.folds ?? 0) !== this.#folds)
      throw new Error(`the context of ${this.customerId} was read after a later event was folded`);
    return snapshotView({
      customerId: this.customerId,
      rows: context?.rows ?? [],
      recent: context?.recent ?? [],
      nowMs: this.nowMs,
      timeZone: this.timeZone,
      currentStoreId: this.currentStoreId,
    });
  }
  get asOf() {
    return this.#s.asOf;
  }
  get all() {
    return this.#s.all;
  }
  get thisStore() {
    return this.#s.thisStore;
  }
  get store() {
    return this.#s.store;
  }
  get category() {
    return this.#s.category;
  }
  get channel() {
    return this.#s.channel;
  }
  get daysSinceLastVisit() {
    return this.#s.daysSinceLastVisit;
  }
  get daysSinceLastPurchase() {
    return this.#s.daysSinceLastPurchase;
  }
  get rfm() {
    return this.#s.rfm;
  }
  get favouriteStore() {
    return this.#s.favouriteStore;
  }
  get favouriteCategory() {
    return this.#s.favouriteCategory;
  }
  get recent() {
    return this.#s.recent;
  }
  get responses() {
    return this.#s.responses;
  }
}

// ── decisions ───────────────────────────────────────────────────────────────────────────────────────────

export type SimulatedOutcome = 'offer' | 'control' | 'none';

export interface SimulatedChoice {
  outcome: SimulatedOutcome;
  winner?: Candidate;
  evaluation: Evaluation;
  /** every candidate and campaign that did not win, and why (as a live record's `losses`) */
  losses: CandidateLoss[];
}

/** An event's place in the replay: the order live received (and processed) events in. */
export type ReplayOrder = readonly [receivedAtMs: number, occurredAtMs: number, eventId: string];

export function replayOrderOf(e: AcceptedEvent): ReplayOrder {
  return [e.receivedAtMs, e.occurredAtMs, e.id];
}

export function compareReplayOrder(a: ReplayOrder, b: ReplayOrder): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}

/** Events in replay order (the order the simulation steps through them). */
export function compareEvents(a: AcceptedEvent, b: AcceptedEvent): number {
  return (
    a.receivedAtMs - b.receivedAtMs ||
    a.occurredAtMs - b.occurredAtMs ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * `events` sorted in place in replay order (compareEvents). For a simulation's whole history, so it counts:
 * each event's receipt time and index are made one number, `(receivedAtMs - earliest) * n + index`, and a
 * Float64Array of those is sorted natively — no comparator call per pair — then events received in the same
 * millisecond are put in order by compareEvents. 200,000 events of a month sort in ~40 ms instead of
 * ~150 ms with the comparator (sortByComparator) on this machine. When those numbers would not be exact (a
 * span times the count past 2^53, or a time that is not whole milliseconds), the comparator sorts them all.
 */
export function sortInReplayOrder(events: AcceptedEvent[]): AcceptedEvent[] {
  const n = events.length;
  if (n < 2) return events;
  // One read of each event's receipt time (events of many shapes: property reads are the slow part).
  const keys = new Float64Array(n);
  let earliest = Infinity;
  let latest = -Infinity;
  let whole = true;
  for (let i = 0; i < n; i++) {
    const r = events[i].receivedAtMs;
    keys[i] = r;
    if (!Number.isInteger(r)) whole = false;
    if (r < earliest) earliest = r;
    if (r > latest) latest = r;
  }
  if (!whole || (latest - earliest + 1) * n > Number.MAX_SAFE_INTEGER) return sortByComparator(events);
  for (let i = 0; i < n; i++) keys[i] = (keys[i] - earliest) * n + i;
  keys.sort();
  const inOrder = new Array<AcceptedEvent>(n);
  for (let i = 0; i < n; i++) inOrder[i] = events[keys[i] % n]!;
  // Runs received in the same millisecond (equal key - index, exact: integers below 2^53), by compareEvents.
  for (let from = 0; from < n;) {
    const receivedKey = keys[from] - (keys[from] % n);
    let to = from + 1;
    while (to < n && keys[to] - (keys[to] % n) === receivedKey) to++;
    if (to - from > 1) {
      const run = inOrder.slice(from, to).sort(compareEvents);
      for (let i = 0; i < run.length; i++) inOrder[from + i] = run[i]!;
    }
    from = to;
  }
  for (let i = 0; i < n; i++) events[i] = inOrder[i]!;
  return events;
}

/**
 * `events` sorted in place by compareEvents, the comparator reading the three keys from small objects of one
 * shape rather than from the events, whose shapes vary (a store or not, a link or not: megamorphic reads).
 */
function sortByComparator(events: AcceptedEvent[]): AcceptedEvent[] {
  const keyed = events.map((e) => ({ r: e.receivedAtMs, o: e.occurredAtMs, id: e.id, e }));
  keyed.sort((a, b) => a.r - b.r || a.o - b.o || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const [i, k] of keyed.entries()) events[i] = k.e;
  return events;
}

/**
 * One consultation of a campaign's budget: the walk over an event's candidates reached a candidate of a
 * budgeted campaign (it took the offer if it fitted). Budgets are the one thing the customers of a
 * simulation share, so shards exchange these (docs/campaigns.md, "Sharding").
 */
export interface BudgetCheck {
  at: ReplayOrder;
  campaignId: string;
  /** the offer's cost, major currency unit */
  cost: number;
  /** the budget of the campaign's version at the time */
  maxOffers?: number;
  maxCost?: number;
}

/** Would one more offer fit (limits.ts fitsBudget, for a recorded check)? */
function checkFits(c: BudgetCheck, used: BudgetUsed): boolean {
  return (
    (c.maxOffers === undefined || used.offers + 1 <= c.maxOffers) &&
    (c.maxCost === undefined || used.cost + c.cost <= c.maxCost)
  );
}

/**
 * One simulated world's decisions: contact ledgers per customer and budget totals per campaign, moved by
 * the decisions made in it. The walk is choose-offer.ts's without a deadline and without contention
 * (one decision at a time, so a claim never conflicts).
 *
 * A shard's world (simulating some of the customers) also takes the budget checks the other shards made
 * (`others`, by campaign, in replay order): before each of its own checks it walks theirs that came
 * earlier, taking an offer's cost where it fitted — so its budget totals are those of the whole run, as
 * long as the others' checks are the ones they make given its own (a fixed point: see mergeShards).
 */
export class DecisionWorld {
  readonly #ledgers = new Map<string, ContactLedger>();
  readonly #budgets = new Map<string, BudgetUsed>();
  readonly #others: ReadonlyMap<string, readonly BudgetCheck[]>;
  readonly #cursors = new Map<string, number>();
  /** every budget check this world made, in replay order */
  readonly checks: BudgetCheck[] = [];
  /** checks that did not fit */
  refused = 0;

  constructor(others: ReadonlyMap<string, readonly BudgetCheck[]> = new Map()) {
    this.#others = others;
  }

  budgetUsed(campaignId: string): BudgetUsed {
    return this.#budgets.get(campaignId) ?? { offers: 0, cost: 0 };
  }

  /** The campaign's budget used before `at`: ours, and the others' checks before it that fitted. */
  #usedBefore(campaignId: string, at: ReplayOrder): BudgetUsed {
    const others = this.#others.get(campaignId);
    if (others) {
      let i = this.#cursors.get(campaignId) ?? 0;
      for (; i < others.length && compareReplayOrder(others[i].at, at) < 0; i++) {
        const used = this.budgetUsed(campaignId);
        if (checkFits(others[i], used))
          this.#budgets.set(campaignId, { offers: used.offers + 1, cost: used.cost + others[i].cost });
      }
      this.#cursors.set(campaignId, i);
    }
    return this.budgetUsed(campaignId);
  }

  decide(input: {
    event: AcceptedEvent;
    customer: CustomerProfile | null;
    ctx: ContextSnapshot;
    set: CampaignSet;
    /** local day (business time zone) of the event's occurredAt: the day the caps count in */
    today: string;
    /** campaign ids whose stateful pattern the event completed (ContextReplay.fold) */
    patterns?: readonly string[];
  }): SimulatedChoice {
    const { event, set, today } = input;
    const base = {
      event,
      customer: input.customer,
      ctx: input.ctx,
      nowMs: event.occurredAtMs,
      patterns: input.patterns,
    };
    const optimistic = set.evaluate({ ...base, usage: NO_USAGE });
    if (optimistic.candidates.length === 0)
      return { evaluation: optimistic, outcome: 'none', losses: optimistic.losses };
    const customerId = event.customerId;
    const ledger = this.#ledgers.get(customerId) ?? EMPTY_LEDGER;
    // A customer with nothing claimed yet has no usage: the optimistic evaluation is the one.
    const evaluation =
      ledger === EMPTY_LEDGER ? optimistic : set.evaluate({ ...base, usage: usageOf(ledger, today) });
    const losses: CandidateLoss[] = [...evaluation.losses];
    const decisionId = decisionIdOf(event);
    const claim = (c: Candidate, outcome: 'offer' | 'control') =>
      this.#ledgers.set(
        customerId,
        withClaim(
          ledger,
          { decisionId, campaignId: c.campaignId, day: today, channel: event.channel, outcome },
          today,
        ),
      );
    const chosen = (index: number, outcome: SimulatedOutcome): SimulatedChoice => ({
      evaluation,
      outcome,
      winner: evaluation.candidates[index],
      losses: [...losses, ...lowerRankLosses(evaluation, index)],
    });
    for (let i = 0; i < evaluation.candidates.length; i++) {
      const c = evaluation.candidates[i];
      if (c.holdout) {
        if (hasCaps(c)) claim(c, 'control');
        return chosen(i, 'control');
      }
      if (hasBudget(c)) {
        const used = this.#usedBefore(c.campaignId, replayOrderOf(event));
        this.checks.push({
          at: replayOrderOf(event),
          campaignId: c.campaignId,
          cost: c.offer.cost,
          ...(c.budget.maxOffers !== undefined ? { maxOffers: c.budget.maxOffers } : {}),
          ...(c.budget.maxCost !== undefined ? { maxCost: c.budget.maxCost } : {}),
        });
        if (!fitsBudget(c, used)) {
          this.refused++;
          losses.push(budgetLoss(c));
          continue;
        }
        this.#budgets.set(c.campaignId, { offers: used.offers + 1, cost: used.cost + c.offer.cost });
      }
      claim(c, 'offer');
      return chosen(i, 'offer');
    }
    return { evaluation, outcome: 'none', losses };
  }
}

// ── the simulation ──────────────────────────────────────────────────────────────────────────────────────

/** How the simulated campaign (the draft) fared on one event. */
export interface DraftFate {
  /** its trigger takes the event */
  triggered: boolean;
  /** triggered, in schedule and its audience holds */
  inAudience: boolean;
  /** in audience, its condition holds and an offer is eligible (before caps, budget and arbitration) */
  matching: boolean;
  /** 'won' (it made the offer), 'holdout' (its control decision), or why it lost (a CandidateLoss reason) */
  status: string;
  detail?: string;
  /** the draft's candidate when it was one in the decision */
  candidate?: Candidate;
}

export interface SimulatedDecision {
  event: AcceptedEvent;
  /** false: the event occurred before --from and was only folded into context */
  inPeriod: boolean;
  /** the decision with the draft; undefined when no campaign of the simulated set triggers (live records none) */
  choice?: SimulatedChoice;
  /** the decision without the draft (live campaigns only), with --with-live */
  baseline?: SimulatedChoice;
  draft: DraftFate;
}

export interface SimulationOptions {
  timeZone: string;
  /** events occurring in [fromMs, toMs) are decided; earlier ones are only folded into context */
  fromMs: number;
  toMs: number;
  /** day index of the first replayed day: every stored event of it and later days is given to step */
  firstDay: number;
  draftId: string;
  /** the sets decided with: the draft, plus the live campaigns with --with-live */
  sets: SetsOverTime;
  /** the live campaigns without the draft (--with-live): what live would have decided */
  baseline?: SetsOverTime;
  /** the draft alone: its funnel (triggered, in audience, matching) */
  draftOnly: SetsOverTime;
  baseOf: (customerId: string) => CustomerBase | undefined;
  /** a shard's run: the budget checks of the other shards, by world and campaign, in replay order */
  others?: {
    world: ReadonlyMap<string, readonly BudgetCheck[]>;
    baseline: ReadonlyMap<string, readonly BudgetCheck[]>;
  };
}

/**
 * Steps through the events in the order live received them: folds each into its customer's context and,
 * when it occurred in the period, decides it in the simulated world (and in the baseline world).
 */
export class Simulation {
  readonly world: DecisionWorld;
  readonly baselineWorld: DecisionWorld;
  readonly #replay: ContextReplay;
  /** absence timers armed so far, in due order */
  readonly #timers: PendingTimer[] = [];

  constructor(private readonly options: SimulationOptions) {
    this.world = new DecisionWorld(options.others?.world);
    this.baselineWorld = new DecisionWorld(options.others?.baseline);
    this.#replay = new ContextReplay(options.timeZone, options.firstDay, options.baseOf);
  }

  /**
   * The decisions of the absence timers due by the event's receipt (live fires them as they come due, so
   * before the event), then the event's own (step). What a replay loop calls; `finish` at the end.
   */
  stepAll(event: AcceptedEvent): SimulatedDecision[] {
    const out = this.#fireDue(event.receivedAtMs);
    const own = this.step(event);
    if (own) out.push(own);
    return out;
  }

  /** The decisions of the absence timers still due before the end of the period, once the events are replayed. */
  finish(): SimulatedDecision[] {
    return this.#fireDue(this.options.toMs - 1);
  }

  #fireDue(untilMs: number): SimulatedDecision[] {
    const out: SimulatedDecision[] = [];
    while (this.#timers.length > 0 && this.#timers[0].dueMs <= untilMs) {
      const timer = this.#timers.shift()!;
      const pattern = this.#patternsAt(timer.dueMs).find((p) => p.key === timer.patternKey);
      if (pattern?.kind !== 'absence') continue; // its campaign is not active then: live fires nothing
      const fired = this.#replay.fire(timer, pattern, this.options.timeZone);
      if (fired) out.push(this.#decide(fired.event, { ...fired, patterns: NO_MATCHES }));
    }
    return out;
  }

  /** Absence timers armed by a fold, kept in due order (cleared ones stay: firing checks the state, as live). */
  #arm(customerId: string, timers: readonly TimerChange[]): void {
    for (const t of timers) {
      if (!t.set) continue;
      const timer: PendingTimer = {
        dueMs: t.set.dueMs,
        customerId,
        patternKey: t.patternKey,
        anchorEventId: t.set.anchorEventId,
      };
      let i = this.#timers.length;
      while (i > 0 && this.#timers[i - 1].dueMs > timer.dueMs) i--;
      this.#timers.splice(i, 0, timer);
    }
  }

  step(event: AcceptedEvent): SimulatedDecision | undefined {
    const folded = this.#replay.fold(event, this.#patternsAt(event.receivedAtMs));
    if (!folded) return undefined;
    if (folded.timers.length > 0) this.#arm(event.customerId, folded.timers);
    return this.#decide(event, folded);
  }

  #decide(
    event: AcceptedEvent,
    folded: { customer: CustomerProfile | null; ctx: ContextSnapshot; patterns: readonly string[] },
  ): SimulatedDecision {
    const o = this.options;
    const inPeriod = event.occurredAtMs >= o.fromMs && event.occurredAtMs < o.toMs;
    const draft: DraftFate = {
      triggered: false,
      inAudience: false,
      matching: false,
      status: 'not_triggered',
    };
    if (!inPeriod) return { event, inPeriod, draft };
    // As live: the set current when the event was processed (received), caps on the day it occurred.
    const at = event.receivedAtMs;
    const today = dayFromIndex(localDayIndex(event.occurredAtMs, o.timeZone));
    const set = o.sets.at(at);
    const baselineSet = o.baseline?.at(at);
    const triggered = set.triggeredBy(event);
    const baselineTriggered = baselineSet?.triggeredBy(event) === true;
    // The draft is in `sets`: an event neither set triggers on is no decision and needs no snapshot.
    if (!triggered && !baselineTriggered) return { event, inPeriod, draft };
    const input = { event, customer: folded.customer, ctx: folded.ctx, today, patterns: folded.patterns };
    const choice = triggered ? this.world.decide({ ...input, set }) : undefined;
    const baseline = baselineTriggered
      ? this.baselineWorld.decide({ ...input, set: baselineSet })
      : undefined;
    return { event, inPeriod, choice, baseline, draft: this.#fate(event, folded, choice) };
  }

  /** The stateful patterns of every set decided with at `atMs` (one state per customer serves them all: keys differ). */
  #patternsAt(atMs: number): readonly StatefulPattern[] {
    const o = this.options;
    const sets = [o.sets.at(atMs), o.baseline?.at(atMs), o.draftOnly.at(atMs)];
    if (sets.every((set) => !set || set.statefulPatterns.length === 0)) return NO_PATTERNS;
    const byKey = new Map<string, StatefulPattern>();
    for (const set of sets) for (const p of set?.statefulPatterns ?? NO_PATTERNS) byKey.set(p.key, p);
    return byKey.size === 0 ? NO_PATTERNS : [...byKey.values()];
  }

  #fate(
    event: AcceptedEvent,
    folded: { customer: CustomerProfile | null; ctx: ContextSnapshot; patterns: readonly string[] },
    choice: SimulatedChoice | undefined,
  ): DraftFate {
    const id = this.options.draftId;
    const alone = this.options.draftOnly.at(event.receivedAtMs);
    if (!alone.triggeredBy(event))
      return { triggered: false, inAudience: false, matching: false, status: 'not_triggered' };
    const funnel = alone.evaluate(
      {
        event,
        customer: folded.customer,
        ctx: folded.ctx,
        nowMs: event.occurredAtMs,
        usage: NO_USAGE,
        patterns: folded.patterns,
      },
      { exhaustive: true },
    );
    const early = funnel.losses.find((l) => l.campaignId === id && l.reason !== 'offer_ineligible');
    const inAudience =
      early === undefined ||
      !['outside_schedule', 'audience', 'error', 'not_triggered'].includes(early.reason);
    const matching = funnel.candidates.length > 0;
    const fate = { triggered: true, inAudience, matching };
    const candidate = choice?.evaluation.candidates.find((c) => c.campaignId === id);
    if (choice?.winner?.campaignId === id)
      return { ...fate, status: choice.outcome === 'offer' ? 'won' : 'holdout', candidate };
    const lost = choice?.losses.find((l) => l.campaignId === id && l.reason !== 'offer_ineligible') ?? early;
    return { ...fate, status: lost?.reason ?? 'not_considered', detail: lost?.detail, candidate };
  }
}

/** The local hour (0–23, business time zone) of an instant. */
export function localHour(epochMs: number, timeZone: string): number {
  const local = epochMs + zoneOffsetMs(epochMs, timeZone);
  return Math.floor((((local % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000);
}
