/**
 * Sharded simulation: the customers are split in N shards (token ranges of the ring), each replayed by a
 * worker of its own, and the shards' results merged here. Pure.
 *
 * Everything a decision depends on belongs to one customer — context, contact ledger, holdout bucket —
 * except campaign budgets, which all customers share. So shards exchange their budget checks (BudgetCheck:
 * each time a walk reached a budgeted candidate) and merging is exact by a fixed point:
 *
 * 1. Round 1: every shard runs with the others' checks unknown (empty).
 * 2. The merge gives each shard the checks of all the others, in replay order; a shard's DecisionWorld
 *    walks them interleaved with its own, taking each offer that fits — the budget totals of one process.
 * 3. When every shard was given exactly the checks the others then made (`given` digests agree), the
 *    shards' decisions are those of one process: by induction over the replay order, each decision saw the
 *    same budget totals as in one process. Also exact without a second round when no check anywhere was
 *    refused (no budget ran out: nothing depends on the order across shards).
 * Otherwise another round runs with the new checks. Each round fixes at least the earliest disagreement,
 * so it converges; in practice in two or three rounds when a budget runs out.
 * The rounds and the digests are libs/operations simulation-shards.ts's; the report merge is here.
 */
import { compareReplayOrder, type BudgetCheck } from './simulate.js';
import {
  addUnreadable,
  type BudgetDay,
  type Overlap,
  type SampledDecision,
  type SimulationReport,
} from './simulation-report.js';

/** The budget checks of a run, by world: the simulated one and (with --with-live) the baseline. */
export interface WorldChecks {
  world: BudgetCheck[];
  baseline: BudgetCheck[];
}

/** The others' checks a shard is given: by world, then campaign id, in replay order. */
export interface OthersChecks {
  world: Record<string, BudgetCheck[]>;
  baseline: Record<string, BudgetCheck[]>;
}

/** Does walking every check in replay order refuse one (a budget runs out across shards)? */
export function anyRefused(checks: readonly BudgetCheck[]): boolean {
  const sorted = [...checks].sort((a, b) => compareReplayOrder(a.at, b.at));
  const used = new Map<string, { offers: number; cost: number }>();
  for (const c of sorted) {
    const u = used.get(c.campaignId) ?? { offers: 0, cost: 0 };
    const fits =
      (c.maxOffers === undefined || u.offers + 1 <= c.maxOffers) &&
      (c.maxCost === undefined || u.cost + c.cost <= c.maxCost);
    if (!fits) return true;
    used.set(c.campaignId, { offers: u.offers + 1, cost: u.cost + c.cost });
  }
  return false;
}

/** What one shard's run hands to the merge (`--shard i/N --shard-out FILE`, JSON). */
export interface ShardResult {
  shard: { index: number; count: number };
  report: SimulationReport;
  samplePool: SampledDecision[];
  /** sample size asked for */
  sampleSize: number;
  checks: WorldChecks;
  /** budget checks of this shard that did not fit (a budget ran out here) */
  refused: number;
  /** digest of the others' checks this shard was given (libs/operations othersDigest) */
  given: string;
}

export interface MergedSimulation {
  report: SimulationReport;
  /** true: the merged report is the one a single process gives */
  exact: boolean;
  /** when not exact: for shard i, the others' checks to run the next round with */
  next?: OthersChecks[];
}

export const NO_OTHERS: OthersChecks = { world: {}, baseline: {} };

/** The checks of every shard but `except`, by campaign, in replay order. */
export function othersOf(results: readonly ShardResult[], except: number): OthersChecks {
  const group = (pick: (r: ShardResult) => BudgetCheck[]) => {
    const by: Record<string, BudgetCheck[]> = {};
    for (const r of results) {
      if (r.shard.index === except) continue;
      for (const c of pick(r)) (by[c.campaignId] ??= []).push(c);
    }
    for (const list of Object.values(by)) list.sort((a, b) => compareReplayOrder(a.at, b.at));
    return by;
  };
  return { world: group((r) => r.checks.world), baseline: group((r) => r.checks.baseline) };
}

/** Shard results that belong together: i/N for every i of one N, one simulation. */
export function checkShardSet(results: readonly ShardResult[]): void {
  if (!results.length) throw new Error('no shard results to merge');
  const count = results[0].shard.count;
  const seen = new Set<number>();
  for (const r of results) {
    if (r.shard.count !== count)
      throw new Error(`shard ${r.shard.index}/${r.shard.count} does not belong with shards of ${count}`);
    if (seen.has(r.shard.index)) throw new Error(`shard ${r.shard.index}/${count} is given twice`);
    seen.add(r.shard.index);
    const a = results[0].report;
    const b = r.report;
    if (
      a.campaignId !== b.campaignId ||
      a.period.from !== b.period.from ||
      a.period.to !== b.period.to ||
      a.withLive !== b.withLive
    )
      throw new Error(
        `shard ${r.shard.index}/${count} simulated ${b.campaignId} ${b.period.from}..${b.period.to}, not ${a.campaignId} ${a.period.from}..${a.period.to}${a.withLive !== b.withLive ? ' (--with-live differs)' : ''}`,
      );
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new Error(`shards missing: ${missing.map((i) => `${i}/${count}`).join(', ')}`);
}

/** The shards' reports as one (customers are disjoint across shards, so counts of customers add). */
export function mergeReports(results: readonly ShardResult[]): SimulationReport {
  const reports = results.map((r) => r.report);
  const first = reports[0];
  const sum = <T extends Record<string, number>>(pick: (r: SimulationReport) => T): T => {
    const out: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(pick(r))) out[k] = (out[k] ?? 0) + v;
    return out as T;
  };
  const sorted = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

  const byOffer: SimulationReport['offers']['byOffer'] = {};
  for (const r of reports)
    for (const [id, t] of Object.entries(r.offers.byOffer)) {
      const o = (byOffer[id] ??= { offers: 0, value: 0, cost: 0 });
      o.offers += t.offers;
      o.value += t.value;
      o.cost += t.cost;
    }

  const days = new Map<string, { offers: number; value: number; cost: number }>();
  for (const r of reports)
    for (const d of r.budget.byDay) {
      const t = days.get(d.day) ?? { offers: 0, value: 0, cost: 0 };
      t.offers += d.offers;
      t.value += d.value;
      t.cost += d.cost;
      days.set(d.day, t);
    }
  let totalOffers = 0;
  let totalCost = 0;
  const byDay: BudgetDay[] = [...days.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, t]) => {
      totalOffers += t.offers;
      totalCost += t.cost;
      return { day, ...t, totalOffers, totalCost };
    });

  const overlap = new Map<string, Overlap>();
  for (const r of reports)
    for (const o of r.overlap) {
      const m = overlap.get(o.campaignId) ?? {
        campaignId: o.campaignId,
        bothEligible: 0,
        movedToDraft: 0,
        offersLost: 0,
        valueLost: 0,
      };
      m.bothEligible += o.bothEligible;
      m.movedToDraft += o.movedToDraft;
      m.offersLost += o.offersLost;
      m.valueLost += o.valueLost;
      overlap.set(o.campaignId, m);
    }

  // The sample one process would take: the first two of each fate in replay order, the first sampleSize.
  const pool = results.flatMap((r) => r.samplePool).sort((a, b) => compareReplayOrder(a.at, b.at));
  const perFate = new Map<string, number>();
  const sample = [];
  for (const s of pool) {
    const n = perFate.get(s.fate) ?? 0;
    if (n >= 2) continue;
    perFate.set(s.fate, n + 1);
    sample.push(s.decision);
  }

  const unreadable = reports.reduce<SimulationReport['unreadable']>(
    (u, r) => addUnreadable(u, r.unreadable),
    undefined,
  );
  const exhausted = reports
    .map((r) => r.budget.exhaustedOn)
    .filter((d): d is string => d !== undefined)
    .sort();
  return {
    campaignId: first.campaignId,
    versions: [...new Set(reports.flatMap((r) => r.versions))].sort((a, b) => a - b),
    period: first.period,
    withLive: first.withLive,
    events: sum((r) => r.events),
    reach: sum((r) => r.reach),
    offers: {
      offers: reports.reduce((n, r) => n + r.offers.offers, 0),
      value: reports.reduce((n, r) => n + r.offers.value, 0),
      cost: reports.reduce((n, r) => n + r.offers.cost, 0),
      byOffer: Object.fromEntries(Object.entries(byOffer).sort(([a], [b]) => (a < b ? -1 : 1))),
    },
    budget: {
      limits: first.budget.limits,
      byDay,
      ...(exhausted.length ? { exhaustedOn: exhausted[0] } : {}),
      refused: reports.reduce((n, r) => n + r.budget.refused, 0),
    },
    caps: sum((r) => r.caps),
    holdout: sum((r) => r.holdout),
    breakdown: {
      byStore: sorted(sum((r) => r.breakdown.byStore)),
      byHour: sorted(sum((r) => r.breakdown.byHour)),
      byChannel: sorted(sum((r) => r.breakdown.byChannel)),
    },
    overlap: [...overlap.values()].sort((a, b) => (a.campaignId < b.campaignId ? -1 : 1)),
    outcomes: sorted(sum((r) => r.outcomes)),
    sample: sample.slice(0, results[0].sampleSize),
    ...(unreadable ? { unreadable } : {}),
  };
}
