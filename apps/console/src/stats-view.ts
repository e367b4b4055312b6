import type { CampaignStats, Interval } from './api';

/**
 * What the pages show of a campaign's statistics, read from whatever shape GET /v1/stats has: the one place
 * that knows it. Each view is undefined when the statistics do not have the figure yet; the page then says
 * "not available yet" rather than inventing one.
 */

export interface LiftView {
  /** relative lift, (treatment rate − holdout rate) / holdout rate; null: not estimable yet */
  relative: number | null;
  absolute?: number | null;
  /** the interval of the relative lift, when the statistics give one */
  interval?: Interval;
}

export function liftOf(c: Pick<CampaignStats, 'lift' | 'liftInterval'>): LiftView | undefined {
  const lift = c.lift;
  if (lift === undefined) return undefined;
  if (lift === null || typeof lift === 'number') return { relative: lift, interval: c.liftInterval };
  return {
    relative: lift.relative ?? null,
    absolute: lift.absolute,
    interval: lift.relativeInterval ?? lift.interval ?? c.liftInterval,
  };
}

/** The revenue-per-customer lift, read as liftOf reads the conversion lift. */
export function revenueLiftOf(c: CampaignStats): LiftView | undefined {
  return c.revenueLift === undefined ? undefined : liftOf({ lift: c.revenueLift });
}

/** Per offer: offers made and, when the split allows, its conversion lift. */
export function offerLiftOf(c: CampaignStats, offerId: string): LiftView | undefined {
  if (!Array.isArray(c.byOffer)) return undefined;
  const o = c.byOffer.find((b) => b.offerId === offerId) as { lift?: CampaignStats['lift'] } | undefined;
  return o && o.lift !== undefined ? liftOf({ lift: o.lift }) : undefined;
}

export interface OfferCount {
  offerId: string;
  offers: number;
}

/** Offers made per alternative, when the statistics count them per offer. */
export function offersByAlternative(c: CampaignStats): OfferCount[] | undefined {
  const byOffer = c.byOffer;
  if (!byOffer) return undefined;
  if (Array.isArray(byOffer)) return byOffer.map((o) => ({ offerId: o.offerId, offers: o.offers }));
  return Object.entries(byOffer).map(([offerId, o]) => ({ offerId, offers: o.offers }));
}

export const FUNNEL_STEPS = ['triggered', 'audience', 'condition', 'caps', 'offered'] as const;

/** The funnel's steps with their counts, when the statistics have a funnel. */
export function funnelOf(
  c: CampaignStats,
): Array<{ step: (typeof FUNNEL_STEPS)[number]; count: number }> | undefined {
  const funnel = c.funnel;
  if (!funnel) return undefined;
  return FUNNEL_STEPS.filter((s) => funnel[s] !== undefined).map((step) => ({ step, count: funnel[step]! }));
}

/** Decisions per local day, when the statistics keep days. */
export function daysOf(c: CampaignStats): NonNullable<CampaignStats['days']> | undefined {
  return c.days && c.days.length ? c.days : undefined;
}
