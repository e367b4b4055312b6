import { Injectable } from '@nestjs/common';
import {
  DecisionRepository,
  MAX_BUDGET_GROUP,
  type BudgetClaim,
  type BudgetLimits,
  type BudgetTotals,
} from '@nunchi/cassandra';

interface Waiting {
  decisionId: string;
  cost: number;
  resolve(claim: BudgetClaim): void;
  reject(error: unknown): void;
}

interface Queue {
  campaignId: string;
  limits: BudgetLimits;
  waiting: Waiting[];
}

/**
 * Budget claims with group commit. Each claim is exact (a conditional batch in the campaign's budget
 * partition, see DecisionRepository.claimBudgets), but one lightweight transaction per offer collapses
 * when a burst hits one campaign: replicas keep invalidating each other's read (measured: ~90 claims/s,
 * p99 1.8 s with three replicas). Here a replica keeps at most one transaction in flight per campaign;
 * claims that arrive meanwhile wait and go together in the next one. Nothing is held in advance, so
 * there are no leases to expire or return and a crashed replica strands no budget.
 *
 * The totals each campaign had after this replica's last transaction are kept as a guess for the next
 * one (tried without reading first; a stale guess costs one failed condition), and to tell the decision
 * that a campaign looks exhausted before it claims anything else for it.
 */
@Injectable()
export class BudgetClaims {
  private readonly queues = new Map<string, Queue>();
  /** campaign id → totals after this replica's last claim or read (a guess: others claim too) */
  private readonly lastTotals = new Map<string, BudgetTotals>();

  constructor(private readonly decisions: DecisionRepository) {}

  claim(campaignId: string, decisionId: string, cost: number, limits: BudgetLimits): Promise<BudgetClaim> {
    // Versions of a campaign may carry different limits: each set of limits is its own queue.
    const key = `${campaignId}\u0000${limits.maxOffers ?? ''}\u0000${limits.maxCost ?? ''}`;
    return new Promise<BudgetClaim>((resolve, reject) => {
      let queue = this.queues.get(key);
      const first = !queue;
      if (!queue) this.queues.set(key, (queue = { campaignId, limits, waiting: [] }));
      queue.waiting.push({ decisionId, cost, resolve, reject });
      if (first) void this.drain(key, queue);
    });
  }

  /** As far as this replica last saw, one more offer of this cost does not fit (the claim will read to be sure). */
  looksExhausted(campaignId: string, cost: number, limits: BudgetLimits): boolean {
    const t = this.lastTotals.get(campaignId);
    if (!t) return false;
    return (
      (limits.maxOffers !== undefined && (t.offers ?? 0) + 1 > limits.maxOffers) ||
      (limits.maxCost !== undefined && t.cost + cost > limits.maxCost)
    );
  }

  async release(campaignId: string, decisionId: string): Promise<void> {
    this.lastTotals.delete(campaignId);
    await this.decisions.releaseBudget(campaignId, decisionId);
  }

  private async drain(key: string, queue: Queue): Promise<void> {
    while (queue.waiting.length > 0) {
      const group = queue.waiting.splice(0, MAX_BUDGET_GROUP);
      try {
        const { results, totals } = await this.decisions.claimBudgets(
          queue.campaignId,
          group,
          queue.limits,
          this.lastTotals.get(queue.campaignId),
        );
        this.lastTotals.set(queue.campaignId, totals);
        for (const w of group) w.resolve(results.get(w.decisionId) ?? 'exhausted');
      } catch (error) {
        this.lastTotals.delete(queue.campaignId);
        for (const w of group) w.reject(error);
      }
    }
    this.queues.delete(key);
  }
}
