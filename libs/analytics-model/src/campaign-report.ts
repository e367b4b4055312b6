import {
  DEFAULT_ALPHA,
  DEFAULT_TUNING_SAMPLE_SIZE,
  effectOf,
  type Effect,
  type Interval,
  type Moments,
} from './confidence-sequence.js';
import { sampleRatioCheck, type SampleRatioCheck } from './sample-ratio.js';
import { RevenueHistogram, winsorisationCap } from './winsorised-revenue.js';

/**
 * A campaign's figures from its stored rows: counts per offer, day and hour from the decision rows, and
 * treatment vs holdout from the exposure rows (one per customer). Pure and streaming: rows are added one at
 * a time and only counters are kept (memory grows with days × offers, never with customers or decisions).
 */

export type DecisionOutcome = 'offer' | 'control' | 'late';

/** One row of analytics_decisions. Rows of one day arrive grouped by customer (its clustering order). */
export interface DecisionRow {
  /** business-local day, YYYY-MM-DD */
  day: string;
  /** business-local hour of the decision, 0..23 */
  hour: number | null;
  /** the customer's analytics pseudonym: one per customer, never the customer id */
  pseudonym: string;
  decisionId: string;
  /** null when only a response to the decision has been stored so far */
  outcome: DecisionOutcome | null;
  offerId: string | null;
  /** offer value, major currency unit */
  value: number | null;
  converted: boolean | null;
  /** purchases within the attribution window after the decision, major currency unit */
  revenue: number | null;
  accepted: boolean | null;
  redeemed: boolean | null;
  dismissed: boolean | null;
}

/** One row of analytics_exposures: a customer's first exposure to the campaign and what followed it. */
export interface ExposureRow {
  /** the customer's analytics pseudonym */
  pseudonym: string;
  group: 'treatment' | 'holdout';
  offerId: string | null;
  converted: boolean;
  /** major currency unit */
  revenue: number;
}

export interface Responses {
  accepted: number;
  redeemed: number;
  dismissed: number;
}

/** Counts of decisions (each decision id once). */
export interface DecisionCounts {
  /** offer + control + late */
  decisions: number;
  offers: number;
  /** held out: decided, not offered */
  control: number;
  /** decided after the event's deadline: nothing offered */
  late: number;
  /** offer value sent, major currency unit */
  valueSent: number;
  /** distinct customers offered (within the period of the figure) */
  customersTreated: number;
  /** distinct customers held out (within the period of the figure) */
  customersHeldOut: number;
  /** offer and control decisions followed by a purchase within the attribution window */
  conversions: number;
  /** purchases within the attribution window after offer and control decisions, major currency unit */
  revenue: number;
  responses: Responses;
}

export interface GroupFigures {
  /** distinct customers in the group (first exposure) */
  customers: number;
  /** of those, customers with a purchase within the attribution window after their first exposure */
  converted: number;
  /** converted / customers, 0..1 */
  rate: number;
  /** purchases within the window after the first exposure, summed, major currency unit (not winsorised) */
  revenue: number;
  /** winsorised revenue per customer, major currency unit */
  revenuePerCustomer: number;
}

export interface Lift {
  /** treatment − holdout (conversion rate: 0..1 points; revenue: per customer, major currency unit) */
  absolute: number;
  /** always-valid interval of `absolute` */
  interval: Interval;
  /** treatment / holdout − 1; null while the holdout figure is 0 */
  relative: number | null;
  /** always-valid interval of `relative`; null with it */
  relativeInterval: Interval | null;
}

export interface Warning {
  code: 'no-holdout' | 'few-customers' | 'few-conversions' | 'sample-ratio-mismatch';
  message: string;
}

export interface OfferFigures extends DecisionCounts {
  offerId: string;
  treatment: GroupFigures;
  holdout: GroupFigures;
  /** conversion-rate lift; null until both groups have a customer of this offer */
  lift: Lift | null;
  /** winsorised revenue-per-customer lift; null as `lift` */
  revenueLift: Lift | null;
}

export interface DayFigures extends DecisionCounts {
  day: string;
  byOffer: Array<DecisionCounts & { offerId: string }>;
}

export interface HourFigures extends DecisionCounts {
  /** YYYY-MM-DDTHH, business-local */
  hour: string;
}

export interface CampaignReport extends DecisionCounts {
  campaignId: string;
  treatment: GroupFigures;
  holdout: GroupFigures;
  /** conversion-rate lift of the campaign; null until both groups have a customer */
  lift: Lift | null;
  revenueLift: Lift | null;
  /** revenue above this (major currency unit) counts as this in revenue per customer; null without revenue */
  revenueCap: number | null;
  sampleRatio: SampleRatioCheck;
  warnings: Warning[];
  byOffer: OfferFigures[];
  days: DayFigures[];
  hours: HourFigures[];
}

export interface ReportOptions {
  campaignId: string;
  /** the campaign's holdoutPercent / 100 */
  expectedHoldoutShare: number;
  /** hours are kept for days ≥ this one (YYYY-MM-DD) */
  hoursFromDay: string;
  alpha?: number;
  tuningSampleSize?: number;
}

/** below this many customers in a group, a warning (the interval's asymptotics need samples) */
export const MIN_CUSTOMERS_PER_GROUP = 100;
/** below this many converted customers in a group, a warning */
export const MIN_CONVERSIONS_PER_GROUP = 10;

const emptyCounts = (): DecisionCounts => ({
  decisions: 0,
  offers: 0,
  control: 0,
  late: 0,
  valueSent: 0,
  customersTreated: 0,
  customersHeldOut: 0,
  conversions: 0,
  revenue: 0,
  responses: { accepted: 0, redeemed: 0, dismissed: 0 },
});

class GroupTally {
  readonly conversion: Moments = { n: 0, sum: 0, sumSquares: 0 };
  readonly revenue = new RevenueHistogram();
  add(row: ExposureRow): void {
    this.conversion.n++;
    if (row.converted) {
      this.conversion.sum++;
      this.conversion.sumSquares++;
    }
    this.revenue.add(row.revenue);
  }
}

interface Split {
  treatment: GroupTally;
  holdout: GroupTally;
}
const emptySplit = (): Split => ({ treatment: new GroupTally(), holdout: new GroupTally() });

export class CampaignTally {
  private readonly days = new Map<string, { total: DecisionCounts; byOffer: Map<string, DecisionCounts> }>();
  private readonly hours = new Map<string, DecisionCounts>();
  private readonly split = emptySplit();
  private readonly splitByOffer = new Map<string, Split>();
  /** distinct-customer counting: the day and customer of the previous row, and what was counted for them */
  private current = { key: '', counted: new Set<string>() };

  constructor(private readonly hoursFromDay: string) {}

  addDecision(row: DecisionRow): void {
    const day = this.days.get(row.day) ?? {
      total: emptyCounts(),
      byOffer: new Map<string, DecisionCounts>(),
    };
    this.days.set(row.day, day);
    const offerId = row.offerId ?? '(none)';
    const byOffer = day.byOffer.get(offerId) ?? emptyCounts();
    day.byOffer.set(offerId, byOffer);
    const targets = [day.total, byOffer];
    if (row.day >= this.hoursFromDay && row.hour !== null) {
      const key = `${row.day}T${String(row.hour).padStart(2, '0')}`;
      const hour = this.hours.get(key) ?? emptyCounts();
      this.hours.set(key, hour);
      targets.push(hour);
    }
    const customerKey = `${row.day}\u0000${row.pseudonym}`;
    if (this.current.key !== customerKey) this.current = { key: customerKey, counted: new Set() };
    for (const [i, c] of targets.entries()) {
      if (row.accepted) c.responses.accepted++;
      if (row.redeemed) c.responses.redeemed++;
      if (row.dismissed) c.responses.dismissed++;
      if (!row.outcome) continue;
      c.decisions++;
      if (row.outcome === 'late') c.late++;
      else {
        if (row.outcome === 'offer') {
          c.offers++;
          c.valueSent += row.value ?? 0;
        } else c.control++;
        if (row.converted) c.conversions++;
        c.revenue += row.revenue ?? 0;
        // target i of this customer's day counted once per group
        const seen = `${i}:${i === 1 ? offerId : ''}:${row.outcome}:${i === 2 ? row.hour : ''}`;
        if (!this.current.counted.has(seen)) {
          this.current.counted.add(seen);
          if (row.outcome === 'offer') c.customersTreated++;
          else c.customersHeldOut++;
        }
      }
    }
  }

  addExposure(row: ExposureRow): void {
    this.split[row.group].add(row);
    if (row.offerId === null) return;
    const split = this.splitByOffer.get(row.offerId) ?? emptySplit();
    this.splitByOffer.set(row.offerId, split);
    split[row.group].add(row);
  }

  report(options: ReportOptions): CampaignReport {
    const alpha = options.alpha ?? DEFAULT_ALPHA;
    const tuning = options.tuningSampleSize ?? DEFAULT_TUNING_SAMPLE_SIZE;
    const cap = winsorisationCap([this.split.treatment.revenue, this.split.holdout.revenue]);
    const days = [...this.days.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, d]) => ({
        day,
        ...d.total,
        byOffer: [...d.byOffer.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([offerId, c]) => ({ offerId, ...c })),
      }));
    const totals = sumCounts(days);
    const offerTotals = new Map<string, DecisionCounts>();
    for (const d of days)
      for (const o of d.byOffer)
        offerTotals.set(o.offerId, sumCounts([offerTotals.get(o.offerId) ?? emptyCounts(), o]));
    for (const offerId of this.splitByOffer.keys())
      if (!offerTotals.has(offerId)) offerTotals.set(offerId, emptyCounts());
    const byOffer = [...offerTotals.entries()]
      .filter(([offerId]) => offerId !== '(none)')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([offerId, counts]) => {
        const split = splitFigures(this.splitByOffer.get(offerId) ?? emptySplit(), cap, alpha, tuning);
        // distinct customers by the offer of their first exposure (each customer once)
        return {
          offerId,
          ...counts,
          customersTreated: split.treatment.customers,
          customersHeldOut: split.holdout.customers,
          ...split,
        };
      });
    const campaign = splitFigures(this.split, cap, alpha, tuning);
    const sampleRatio = sampleRatioCheck(
      campaign.treatment.customers,
      campaign.holdout.customers,
      options.expectedHoldoutShare,
    );
    return {
      campaignId: options.campaignId,
      ...totals,
      // Over the whole campaign, distinct customers are the exposures (a customer counts once, not once a day).
      customersTreated: campaign.treatment.customers,
      customersHeldOut: campaign.holdout.customers,
      ...campaign,
      revenueCap: cap === Infinity ? null : cap,
      sampleRatio,
      warnings: warningsOf(campaign, sampleRatio),
      byOffer,
      days,
      hours: [...this.hours.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([hour, c]) => ({ hour, ...c })),
    };
  }
}

function splitFigures(split: Split, cap: number, alpha: number, tuning: number) {
  const figures = (g: GroupTally): GroupFigures => {
    const revenue = g.revenue.cappedMoments(cap);
    return {
      customers: g.conversion.n,
      converted: g.conversion.sum,
      rate: g.conversion.n ? g.conversion.sum / g.conversion.n : 0,
      revenue: g.revenue.total,
      revenuePerCustomer: revenue.n ? revenue.sum / revenue.n : 0,
    };
  };
  return {
    treatment: figures(split.treatment),
    holdout: figures(split.holdout),
    lift: liftOf(effectOf(split.treatment.conversion, split.holdout.conversion, alpha, tuning)),
    revenueLift: liftOf(
      effectOf(
        split.treatment.revenue.cappedMoments(cap),
        split.holdout.revenue.cappedMoments(cap),
        alpha,
        tuning,
      ),
    ),
  };
}

const liftOf = (e: Effect | null): Lift | null => e && { ...e };

function warningsOf(c: { treatment: GroupFigures; holdout: GroupFigures }, srm: SampleRatioCheck): Warning[] {
  const warnings: Warning[] = [];
  if (c.holdout.customers === 0)
    warnings.push({
      code: 'no-holdout',
      message: 'no customer is held out yet: lift cannot be estimated (is holdoutPercent 0?)',
    });
  for (const [name, g] of [
    ['treatment', c.treatment],
    ['holdout', c.holdout],
  ] as const) {
    if (g.customers > 0 && g.customers < MIN_CUSTOMERS_PER_GROUP)
      warnings.push({
        code: 'few-customers',
        message: `${name} has ${g.customers} customers; below ${MIN_CUSTOMERS_PER_GROUP} the interval is not yet reliable`,
      });
    if (g.customers > 0 && g.converted < MIN_CONVERSIONS_PER_GROUP)
      warnings.push({
        code: 'few-conversions',
        message: `${name} has ${g.converted} converted customers; below ${MIN_CONVERSIONS_PER_GROUP} the interval is not yet reliable`,
      });
  }
  if (srm.mismatch)
    warnings.push({
      code: 'sample-ratio-mismatch',
      message: `holdout share ${((srm.observedHoldoutShare ?? 0) * 100).toFixed(1)} % where ${(srm.expectedHoldoutShare * 100).toFixed(1)} % is expected (p = ${srm.pValue.toPrecision(2)}): assignment or counting is broken; do not trust the lift`,
    });
  return warnings;
}

export function sumCounts(parts: readonly DecisionCounts[]): DecisionCounts {
  const t = emptyCounts();
  for (const p of parts) {
    t.decisions += p.decisions;
    t.offers += p.offers;
    t.control += p.control;
    t.late += p.late;
    t.valueSent += p.valueSent;
    t.customersTreated += p.customersTreated;
    t.customersHeldOut += p.customersHeldOut;
    t.conversions += p.conversions;
    t.revenue += p.revenue;
    t.responses.accepted += p.responses.accepted;
    t.responses.redeemed += p.responses.redeemed;
    t.responses.dismissed += p.responses.dismissed;
  }
  return t;
}
