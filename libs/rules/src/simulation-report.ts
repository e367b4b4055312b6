/**
 * What a simulation on history tells about the simulated campaign (the draft), built decision by decision
 * (SimulationReportBuilder.add) in bounded memory: counters and small maps, plus a few sampled explanations.
 * Pure.
 */
import { localDay } from '@nunchi/context-model';
import type { CampaignBudget } from './campaign.js';
import { explain } from './explain.js';
import {
  localHour,
  replayOrderOf,
  type ReplayOrder,
  type SimulatedChoice,
  type SimulatedDecision,
} from './simulate.js';

export interface OfferTotals {
  offers: number;
  /** worth to customers, major currency unit */
  value: number;
  /** cost to the retailer, major currency unit */
  cost: number;
}

export interface BudgetDay extends OfferTotals {
  /** local day, YYYY-MM-DD */
  day: string;
  /** offers and cost up to and including this day */
  totalOffers: number;
  totalCost: number;
}

/** How the draft and one live campaign shared the events (with --with-live). */
export interface Overlap {
  campaignId: string;
  /** events on which both were eligible candidates */
  bothEligible: number;
  /** events whose offer (or control decision) went from this campaign, live, to the draft */
  movedToDraft: number;
  /** offers this campaign made live that it does not make with the draft */
  offersLost: number;
  /** value of those offers, major currency unit */
  valueLost: number;
}

export interface ExplainedDecision {
  eventId: string;
  customerId: string;
  occurredAt: string;
  outcome: string;
  campaignId: string | null;
  offerId: string | null;
  /** the draft's fate: won, holdout, or why it lost */
  draft: string;
  lines: string[];
}

export interface SimulationReport {
  campaignId: string;
  /** versions of the draft that took part */
  versions: number[];
  period: { from: string; to: string };
  withLive: boolean;
  events: {
    /** events replayed (folded into context), the period and the day(s) before it */
    replayed: number;
    /** events that occurred in the period */
    inPeriod: number;
    /** events of the period some simulated campaign triggers on: the decisions */
    decisions: number;
  };
  reach: {
    /** events the draft's trigger takes */
    eventsTriggering: number;
    /** … and in its schedule and audience */
    eventsInAudience: number;
    /** … and its condition holds with an eligible offer (before caps, budget and arbitration) */
    eventsMatching: number;
    customersTriggering: number;
    customersMatching: number;
    /** customers the draft made at least one offer to */
    customersOffered: number;
  };
  offers: OfferTotals & { byOffer: Record<string, OfferTotals> };
  budget: {
    limits: CampaignBudget;
    byDay: BudgetDay[];
    /** local day of the first offer refused for the budget */
    exhaustedOn?: string;
    /** candidates of the draft refused for the budget */
    refused: number;
  };
  caps: { cap: number; contactPolicy: number };
  holdout: { decisions: number; customers: number };
  breakdown: {
    byStore: Record<string, number>;
    /** local hour 00–23 → offers */
    byHour: Record<string, number>;
    byChannel: Record<string, number>;
  };
  /** what the draft did to the live campaigns (with --with-live) */
  overlap: Overlap[];
  /** outcomes of all simulated decisions (live campaigns too) */
  outcomes: Record<string, number>;
  sample: ExplainedDecision[];
  /**
   * customers left out because their stored history could not be opened (sealed under a data key this
   * process cannot unwrap, or whose key an erasure just deleted), with one reason (the least in text order);
   * absent when none
   */
  unreadable?: { customers: number; reason: string };
}

/**
 * Two counts of customers left out as one: summed, with the least reason in text order — the same whatever
 * the order customers were read in or shards merged.
 */
export function addUnreadable(
  a: SimulationReport['unreadable'],
  b: SimulationReport['unreadable'],
): SimulationReport['unreadable'] {
  if (!a || !b) return a ?? b;
  return { customers: a.customers + b.customers, reason: a.reason < b.reason ? a.reason : b.reason };
}

/** An explained decision with its place in the replay and the draft's fate on it. */
export interface SampledDecision {
  at: ReplayOrder;
  fate: string;
  decision: ExplainedDecision;
}

export interface ReportOptions {
  campaignId: string;
  timeZone: string;
  from: string;
  to: string;
  withLive: boolean;
  budget: CampaignBudget;
  /** explained decisions kept (the first of each kind of fate first) @default 10 */
  sampleSize?: number;
}

export class SimulationReportBuilder {
  readonly #r: SimulationReport;
  readonly #versions = new Set<number>();
  readonly #triggering = new Set<string>();
  readonly #matching = new Set<string>();
  readonly #offered = new Set<string>();
  readonly #heldOut = new Set<string>();
  readonly #byDay = new Map<string, OfferTotals>();
  readonly #overlap = new Map<string, Overlap>();
  readonly #sampled = new Map<string, number>();
  /** the first two explained decisions of each fate, in replay order (the sample is their first sampleSize) */
  readonly #pool: SampledDecision[] = [];

  constructor(private readonly options: ReportOptions) {
    this.#r = {
      campaignId: options.campaignId,
      versions: [],
      period: { from: options.from, to: options.to },
      withLive: options.withLive,
      events: { replayed: 0, inPeriod: 0, decisions: 0 },
      reach: {
        eventsTriggering: 0,
        eventsInAudience: 0,
        eventsMatching: 0,
        customersTriggering: 0,
        customersMatching: 0,
        customersOffered: 0,
      },
      offers: { offers: 0, value: 0, cost: 0, byOffer: {} },
      budget: { limits: options.budget, byDay: [], refused: 0 },
      caps: { cap: 0, contactPolicy: 0 },
      holdout: { decisions: 0, customers: 0 },
      breakdown: { byStore: {}, byHour: {}, byChannel: {} },
      overlap: [],
      outcomes: {},
      sample: [],
    };
  }

  add(d: SimulatedDecision): void {
    const r = this.#r;
    r.events.replayed++;
    if (!d.inPeriod) return;
    r.events.inPeriod++;
    const { event, draft, choice } = d;
    const id = this.options.campaignId;
    if (choice) {
      r.events.decisions++;
      r.outcomes[choice.outcome] = (r.outcomes[choice.outcome] ?? 0) + 1;
    }
    if (draft.triggered) {
      r.reach.eventsTriggering++;
      this.#triggering.add(event.customerId);
    }
    if (draft.inAudience) r.reach.eventsInAudience++;
    if (draft.matching) {
      r.reach.eventsMatching++;
      this.#matching.add(event.customerId);
    }
    if (draft.candidate) this.#versions.add(draft.candidate.campaignVersion);
    for (const l of choice?.losses ?? []) {
      if (l.campaignId !== id) continue;
      if (l.reason === 'cap') r.caps.cap++;
      if (l.reason === 'contact_policy') r.caps.contactPolicy++;
      if (l.reason === 'budget') {
        r.budget.refused++;
        r.budget.exhaustedOn ??= localDay(event.occurredAtMs, this.options.timeZone);
      }
    }
    const won = choice?.winner?.campaignId === id ? choice : undefined;
    if (won?.outcome === 'control') {
      r.holdout.decisions++;
      this.#heldOut.add(event.customerId);
    }
    if (won?.outcome === 'offer' && won.winner) {
      const o = won.winner.offer;
      add(r.offers, o.value, o.cost);
      add((r.offers.byOffer[o.id] ??= zero()), o.value, o.cost);
      this.#offered.add(event.customerId);
      const day = localDay(event.occurredAtMs, this.options.timeZone);
      let totals = this.#byDay.get(day);
      if (!totals) this.#byDay.set(day, (totals = zero()));
      add(totals, o.value, o.cost);
      const b = r.breakdown;
      const store = event.storeId ?? '(none)';
      const hour = String(localHour(event.occurredAtMs, this.options.timeZone)).padStart(2, '0');
      b.byStore[store] = (b.byStore[store] ?? 0) + 1;
      b.byHour[hour] = (b.byHour[hour] ?? 0) + 1;
      b.byChannel[event.channel] = (b.byChannel[event.channel] ?? 0) + 1;
    }
    if (this.options.withLive) this.#addOverlap(choice, d.baseline);
    this.#sample(d);
  }

  #addOverlap(choice: SimulatedChoice | undefined, baseline: SimulatedChoice | undefined): void {
    const id = this.options.campaignId;
    const of = (campaignId: string) => {
      let o = this.#overlap.get(campaignId);
      if (!o)
        this.#overlap.set(
          campaignId,
          (o = { campaignId, bothEligible: 0, movedToDraft: 0, offersLost: 0, valueLost: 0 }),
        );
      return o;
    };
    const candidates = choice?.evaluation.candidates ?? [];
    if (candidates.some((c) => c.campaignId === id))
      for (const c of candidates) if (c.campaignId !== id) of(c.campaignId).bothEligible++;
    const before = baseline?.winner;
    if (!before || before.campaignId === id) return;
    const after = choice?.winner;
    if (after?.campaignId === id && baseline.outcome !== 'none') of(before.campaignId).movedToDraft++;
    if (
      baseline.outcome === 'offer' &&
      !(choice?.outcome === 'offer' && after?.campaignId === before.campaignId)
    ) {
      const o = of(before.campaignId);
      o.offersLost++;
      o.valueLost += before.offer.value;
    }
  }

  #sample(d: SimulatedDecision): void {
    const choice = d.choice;
    if (!choice || !d.draft.triggered) return;
    // At most two of each fate, so that the sample shows wins, holdouts and the ways the draft lost.
    const seen = this.#sampled.get(d.draft.status) ?? 0;
    if (seen >= 2) return;
    this.#sampled.set(d.draft.status, seen + 1);
    this.#pool.push({
      at: replayOrderOf(d.event),
      fate: d.draft.status,
      decision: {
        eventId: d.event.id,
        customerId: d.event.customerId,
        occurredAt: new Date(d.event.occurredAtMs).toISOString(),
        outcome: choice.outcome,
        campaignId: choice.winner?.campaignId ?? null,
        offerId: choice.winner?.offer.id ?? null,
        draft: d.draft.detail ? `${d.draft.status}: ${d.draft.detail}` : d.draft.status,
        lines: explain({ ...choice.evaluation, losses: choice.losses }),
      },
    });
  }

  /** What a shard hands to the merge besides its report: the explained decisions the sample is taken from. */
  samplePool(): SampledDecision[] {
    return this.#pool;
  }

  report(): SimulationReport {
    const r = this.#r;
    r.versions = [...this.#versions].sort((a, b) => a - b);
    r.reach.customersTriggering = this.#triggering.size;
    r.reach.customersMatching = this.#matching.size;
    r.reach.customersOffered = this.#offered.size;
    r.holdout.customers = this.#heldOut.size;
    let totalOffers = 0;
    let totalCost = 0;
    r.budget.byDay = [...this.#byDay.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([day, t]) => {
        totalOffers += t.offers;
        totalCost += t.cost;
        return { day, ...t, totalOffers, totalCost };
      });
    r.overlap = [...this.#overlap.values()].sort((a, b) => (a.campaignId < b.campaignId ? -1 : 1));
    r.sample = this.#pool.slice(0, this.options.sampleSize ?? 10).map((s) => s.decision);
    return r;
  }
}

function zero(): OfferTotals {
  return { offers: 0, value: 0, cost: 0 };
}

function add(t: OfferTotals, value: number, cost: number): void {
  t.offers++;
  t.value += value;
  t.cost += cost;
}

/** One NDJSON line of `--out`: one simulated decision. */
export interface DecisionLine {
  eventId: string;
  customerId: string;
  occurredAt: string;
  campaignId: string | null;
  campaignVersion: number | null;
  /** the winner's offer (a control decision names the offer it held back); null when no campaign won */
  offerId: string | null;
  outcome: string;
  /** the draft's fate: won, holdout, or why it lost (`reason: detail`) */
  reason: string;
  /**
   * With --with-live: what the live campaigns alone decided on this event (null: none of them triggers on
   * it). Where it names another campaign than the line, the event moved.
   */
  baseline?: { campaignId: string | null; offerId: string | null; outcome: string } | null;
}

/** The line of a decision; undefined when no simulated campaign triggers on the event (no decision). */
export function decisionLine(
  d: SimulatedDecision,
  options: { withLive?: boolean } = {},
): DecisionLine | undefined {
  if (!d.choice) return undefined;
  const w = d.choice.winner;
  const b = d.baseline;
  const baseline = options.withLive
    ? {
        baseline: b
          ? {
              campaignId: b.winner?.campaignId ?? null,
              offerId: b.winner?.offer.id ?? null,
              outcome: b.outcome,
            }
          : null,
      }
    : {};
  return {
    eventId: d.event.id,
    customerId: d.event.customerId,
    occurredAt: new Date(d.event.occurredAtMs).toISOString(),
    campaignId: w?.campaignId ?? null,
    campaignVersion: w?.campaignVersion ?? null,
    offerId: w?.offer.id ?? null,
    outcome: d.choice.outcome,
    reason: d.draft.detail ? `${d.draft.status}: ${d.draft.detail}` : d.draft.status,
    ...baseline,
  };
}
