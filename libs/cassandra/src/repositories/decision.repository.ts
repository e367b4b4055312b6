import type { DecisionRecord } from '@nunchi/contracts';
import type { CqlClient } from '../client.js';
import { defineStatements, run, statement } from '../statements.js';

const Q = defineStatements({
  byId: statement('decisions_by_id.get', 'SELECT record FROM decisions_by_id WHERE decision_id = ?'),
  insertById: statement('decisions_by_id.insert', 'INSERT INTO decisions_by_id (decision_id, customer_id, decided_at, record) VALUES (?, ?, ?, ?)'),
  insertByCustomer: statement(
    'decisions.insert',
    'INSERT INTO decisions (customer_id, decided_at, decision_id, event_id, outcome, campaign_id, campaign_version, offer_id, channel, store_id, value, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  insertByCampaign: statement(
    'decisions_by_campaign.insert',
    'INSERT INTO decisions_by_campaign (campaign_id, day, decided_at, decision_id, customer_id, outcome, offer_id, value, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  history: statement('decisions.history', 'SELECT decided_at, outcome, campaign_id, channel FROM decisions WHERE customer_id = ? LIMIT 5000'),
  byCampaignDay: statement('decisions_by_campaign.day', 'SELECT decision_id, customer_id, outcome, offer_id, value, cost FROM decisions_by_campaign WHERE campaign_id = ? AND day = ?'),
  // The three parts of the conditional budget batch (see claimBudget).
  claimUpdate: statement('campaign_budget.claim_update', 'UPDATE campaign_budget SET offers_used = ?, cost_used = ? WHERE campaign_id = ? IF offers_used = ?', false),
  claimUpdateFirst: statement('campaign_budget.claim_first', 'UPDATE campaign_budget SET offers_used = ?, cost_used = ? WHERE campaign_id = ? IF offers_used = null', false),
  claimInsert: statement('campaign_budget.claim_insert', 'INSERT INTO campaign_budget (campaign_id, decision_id, cost, claimed_at) VALUES (?, ?, ?, ?) IF NOT EXISTS', false),
  budgetOf: statement('campaign_budget.get', 'SELECT offers_used, cost_used FROM campaign_budget WHERE campaign_id = ? LIMIT 1'),
  claimOf: statement('campaign_budget.claim_of', 'SELECT decision_id FROM campaign_budget WHERE campaign_id = ? AND decision_id = ?'),
});


export interface PastDecision {
  decidedAtMs: number;
  outcome: string;
  campaignId: string | null;
  channel: string;
}

export type BudgetClaim = 'claimed' | 'already-claimed' | 'exhausted';

/** Decision records: by customer (caps), by campaign and day (reports), by id (explanations, redelivery). */
export class DecisionRepository {
  constructor(private readonly client: CqlClient) {}

  async findById(decisionId: string): Promise<DecisionRecord | undefined> {
    const row = (await run(this.client, Q.byId, [decisionId])).first();
    return row ? (JSON.parse(row['record'] as string) as DecisionRecord) : undefined;
  }

  /** Every decision is kept by id (explanations); only campaign outcomes go to the per-customer and per-campaign tables. */
  async record(d: DecisionRecord, localDay: string): Promise<void> {
    const at = new Date(d.decidedAt);
    const writes = d.outcome === 'none' ? [] : [run(this.client, Q.insertByCustomer, [d.customerId, at, d.decisionId, d.eventId, d.outcome, d.campaignId ?? null, d.campaignVersion ?? null, d.offerId ?? null, d.channel, d.storeId ?? null, d.value ?? null, d.cost ?? null])];
    if (d.campaignId && d.outcome !== 'none') {
      writes.push(run(this.client, Q.insertByCampaign, [d.campaignId, localDay, at, d.decisionId, d.customerId, d.outcome, d.offerId ?? null, d.value ?? null, d.cost ?? null]));
    }
    await Promise.all(writes);
    // Written last: its presence means the decision is complete (redelivery skips it).
    await run(this.client, Q.insertById, [d.decisionId, d.customerId, at, JSON.stringify(d)]);
  }

  async history(customerId: string): Promise<PastDecision[]> {
    const rows = (await run(this.client, Q.history, [customerId], { fetchSize: 5_000 })).rows;
    return rows.map((r) => ({
      decidedAtMs: (r['decided_at'] as Date).getTime(),
      outcome: r['outcome'] as string,
      campaignId: (r['campaign_id'] as string | null) ?? null,
      channel: r['channel'] as string,
    }));
  }

  async byCampaignDay(campaignId: string, day: string) {
    return (await run(this.client, Q.byCampaignDay, [campaignId, day], { fetchSize: 5_000 })).rows;
  }

  /**
   * Claims one offer (and its cost) from a campaign's budget, exactly once per decision id, under any
   * concurrency: a conditional batch in one partition moves the totals and inserts the claim together.
   */
  async claimBudget(campaignId: string, decisionId: string, cost: number, budget: { maxOffers?: number; maxCost?: number }): Promise<BudgetClaim> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [totals, existing] = await Promise.all([
        run(this.client, Q.budgetOf, [campaignId]),
        run(this.client, Q.claimOf, [campaignId, decisionId]),
      ]);
      if (existing.rowLength) return 'already-claimed';
      const row = totals.first();
      const used = (row?.['offers_used'] as number | null) ?? null;
      const costUsed = (row?.['cost_used'] as number | null) ?? 0;
      if (budget.maxOffers !== undefined && (used ?? 0) + 1 > budget.maxOffers) return 'exhausted';
      if (budget.maxCost !== undefined && costUsed + cost > budget.maxCost) return 'exhausted';
      const now = new Date();
      const result = await this.client.batch(
        [
          used === null
            ? { query: Q.claimUpdateFirst.cql, params: [1, cost, campaignId] }
            : { query: Q.claimUpdate.cql, params: [used + 1, costUsed + cost, campaignId, used] },
          { query: Q.claimInsert.cql, params: [campaignId, decisionId, cost, now] },
        ],
        { prepare: true },
      );
      if (result.wasApplied()) return 'claimed';
      // Lost a race with another replica: read again and retry, with a little jitter.
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
    }
    throw new Error(`budget of ${campaignId}: too much contention; retry`);
  }

  async budgetUsage(campaignId: string): Promise<{ offers: number; cost: number }> {
    const row = (await run(this.client, Q.budgetOf, [campaignId])).first();
    return { offers: (row?.['offers_used'] as number | null) ?? 0, cost: (row?.['cost_used'] as number | null) ?? 0 };
  }
}
