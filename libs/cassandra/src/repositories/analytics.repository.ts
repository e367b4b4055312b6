import cassandra from 'cassandra-driver';
import type { CqlClient } from '../client.js';
import { defineStatements, run, statement, type Statement } from '../statements.js';
import { WriteGroup } from '../write-group.js';

/**
 * Analytics state (cql/0012_analytics_state.cql): facts keyed by their ids, so every write is an upsert
 * that a redelivery repeats harmlessly; conversion cells carry explicit write timestamps chosen by
 * libs/analytics-model (attribution.ts) so that the most informed computation wins in any order.
 *
 * No row names a customer: the column `customer_id` of every analytics table holds the customer's analytics
 * pseudonym (libs/sealing pseudonym.ts, `~…`, keyed under the customer's data key), which the erasure makes
 * unlinkable everywhere at once, backups included, by deleting that key. Rows stored before migration 0023
 * held customer ids; its data step (pseudonymise-analytics.ts) moved them under pseudonyms.
 */
const Q = defineStatements({
  decisionInsert: statement(
    'analytics_decisions.insert',
    'INSERT INTO analytics_decisions (campaign_id, day, customer_id, decision_id, decided_at, hour, outcome, offer_id, value, window_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  decisionConversion: statement(
    'analytics_decisions.conversion',
    'UPDATE analytics_decisions USING TIMESTAMP ? SET converted = ?, revenue = ? WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
  ),
  accepted: statement(
    'analytics_decisions.accepted',
    'UPDATE analytics_decisions SET accepted = true WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
  ),
  redeemed: statement(
    'analytics_decisions.redeemed',
    'UPDATE analytics_decisions SET redeemed = true WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
  ),
  dismissed: statement(
    'analytics_decisions.dismissed',
    'UPDATE analytics_decisions SET dismissed = true WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
  ),
  decisionsOfDay: statement(
    'analytics_decisions.of_day',
    'SELECT customer_id, decision_id, hour, outcome, offer_id, value, converted, revenue, accepted, redeemed, dismissed FROM analytics_decisions WHERE campaign_id = ? AND day = ?',
  ),
  dayInsert: statement(
    'analytics_campaign_days.insert',
    'INSERT INTO analytics_campaign_days (campaign_id, day) VALUES (?, ?)',
  ),
  daysOf: statement(
    'analytics_campaign_days.of_campaign',
    'SELECT day FROM analytics_campaign_days WHERE campaign_id = ? LIMIT ?',
  ),
  campaignInsert: statement(
    'analytics_campaigns.insert',
    "INSERT INTO analytics_campaigns (scope, campaign_id) VALUES ('all', ?)",
  ),
  campaigns: statement(
    'analytics_campaigns.all',
    "SELECT campaign_id FROM analytics_campaigns WHERE scope = 'all'",
  ),
  exposureFirst: statement(
    'analytics_exposures.first',
    'UPDATE analytics_exposures USING TIMESTAMP ? SET first_at = ?, grp = ?, offer_id = ?, window_days = ? WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
  ),
  exposureConversion: statement(
    'analytics_exposures.conversion',
    'UPDATE analytics_exposures USING TIMESTAMP ? SET converted = ?, revenue = ? WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
  ),
  exposureGet: statement(
    'analytics_exposures.get',
    'SELECT first_at, window_days FROM analytics_exposures WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
  ),
  exposuresOfShard: statement(
    'analytics_exposures.of_shard',
    'SELECT customer_id, grp, offer_id, converted, revenue FROM analytics_exposures WHERE campaign_id = ? AND shard = ?',
  ),
  customerDecisionInsert: statement(
    'analytics_customer_decisions.insert',
    'INSERT INTO analytics_customer_decisions (customer_id, decided_at, decision_id, campaign_id, day, outcome, window_days) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ),
  customerDecisionsBetween: statement(
    'analytics_customer_decisions.between',
    'SELECT decided_at, decision_id, campaign_id, day, outcome, window_days FROM analytics_customer_decisions WHERE customer_id = ? AND decided_at >= ? AND decided_at < ?',
  ),
  purchaseInsert: statement(
    'analytics_purchases.insert',
    'INSERT INTO analytics_purchases (customer_id, occurred_at, event_id, amount) VALUES (?, ?, ?, ?)',
  ),
  purchasesBetween: statement(
    'analytics_purchases.between',
    'SELECT occurred_at, amount FROM analytics_purchases WHERE customer_id = ? AND occurred_at > ? AND occurred_at <= ?',
  ),
});

export type AnalyticsOutcome = 'offer' | 'control' | 'late';
export type OfferResponseKind = 'accepted' | 'redeemed' | 'dismissed';

/** Where a decision's row lives: campaign, business-local day, the customer's pseudonym, decision. */
export interface DecisionRowKey {
  campaignId: string;
  /** YYYY-MM-DD, business-local */
  day: string;
  /** the customer's analytics pseudonym (CustomerKeyring.pseudonym), never its id */
  pseudonym: string;
  decisionId: string;
}

export interface AnalyticsDecision extends DecisionRowKey {
  /** epoch milliseconds */
  decidedAtMs: number;
  /** business-local hour, 0..23 */
  hour: number;
  outcome: AnalyticsOutcome;
  offerId?: string;
  /** major currency unit */
  value?: number;
  windowDays: number;
}

/** A customer's recent campaign decision (offer or control): what a purchase may convert. */
export interface CustomerDecision extends DecisionRowKey {
  decidedAtMs: number;
  outcome: AnalyticsOutcome;
  windowDays: number;
}

export interface StoredPurchase {
  /** epoch milliseconds */
  occurredAtMs: number;
  /** major currency unit */
  amount: number;
}

/** A stored row of analytics_decisions, as libs/analytics-model's DecisionRow wants it (without day). */
export interface StoredDecisionRow {
  pseudonym: string;
  decisionId: string;
  hour: number | null;
  outcome: AnalyticsOutcome | null;
  offerId: string | null;
  value: number | null;
  converted: boolean | null;
  revenue: number | null;
  accepted: boolean | null;
  redeemed: boolean | null;
  dismissed: boolean | null;
}

export interface StoredExposure {
  pseudonym: string;
  group: 'treatment' | 'holdout';
  offerId: string | null;
  converted: boolean;
  revenue: number;
}

/** rows per page when scanning a campaign: memory per scan stays one page */
const SCAN_PAGE = 2_000;

export class AnalyticsRepository {
  /** the rows of many decisions, purchases, exposures and conversions, one request (group commit) */
  private readonly writes: WriteGroup;

  constructor(private readonly client: CqlClient) {
    this.writes = WriteGroup.unlogged(client);
  }

  /**
   * The decision's row and its indexes; for offer and control also the customer's index (attribution). One
   * unlogged batch, with the other rows written at the same time (WriteGroup).
   */
  async recordDecision(d: AnalyticsDecision): Promise<void> {
    const decidedAt = new Date(d.decidedAtMs);
    await this.writes.write([
      {
        query: Q.decisionInsert.cql,
        params: [
          d.campaignId,
          d.day,
          d.pseudonym,
          d.decisionId,
          decidedAt,
          d.hour,
          d.outcome,
          d.offerId ?? null,
          d.value ?? null,
          d.windowDays,
        ],
      },
      { query: Q.dayInsert.cql, params: [d.campaignId, d.day] },
      { query: Q.campaignInsert.cql, params: [d.campaignId] },
      ...(d.outcome === 'late'
        ? []
        : [
            {
              query: Q.customerDecisionInsert.cql,
              params: [d.pseudonym, decidedAt, d.decisionId, d.campaignId, d.day, d.outcome, d.windowDays],
            },
          ]),
    ]);
  }

  /** `writeTimestamp`: microseconds, from libs/analytics-model conversionWriteTimestamp. */
  async writeDecisionConversion(
    key: DecisionRowKey,
    converted: boolean,
    revenue: number,
    writeTimestamp: number,
  ): Promise<void> {
    await this.writes.write([
      {
        query: Q.decisionConversion.cql,
        params: [
          long(writeTimestamp),
          converted,
          revenue,
          key.campaignId,
          key.day,
          key.pseudonym,
          key.decisionId,
        ],
      },
    ]);
  }

  async recordResponse(key: DecisionRowKey, response: OfferResponseKind): Promise<void> {
    await run(this.client, Q[response], [key.campaignId, key.day, key.pseudonym, key.decisionId]);
  }

  /** The customer's exposure cells, written at `writeTimestamp` (exposureWriteTimestamp: the first exposure wins). */
  async recordExposure(
    e: {
      campaignId: string;
      shard: number;
      pseudonym: string;
      firstAtMs: number;
      group: 'treatment' | 'holdout';
      offerId?: string;
      windowDays: number;
    },
    writeTimestamp: number,
  ): Promise<void> {
    await this.writes.write([
      {
        query: Q.exposureFirst.cql,
        params: [
          long(writeTimestamp),
          new Date(e.firstAtMs),
          e.group,
          e.offerId ?? null,
          e.windowDays,
          e.campaignId,
          e.shard,
          e.pseudonym,
        ],
      },
    ]);
  }

  async exposureOf(
    campaignId: string,
    shard: number,
    pseudonym: string,
  ): Promise<{ firstAtMs: number; windowDays: number } | undefined> {
    const row = (await run(this.client, Q.exposureGet, [campaignId, shard, pseudonym])).first();
    if (!row || !row['first_at']) return undefined;
    return {
      firstAtMs: (row['first_at'] as Date).getTime(),
      windowDays: (row['window_days'] as number | null) ?? 7,
    };
  }

  async writeExposureConversion(
    campaignId: string,
    shard: number,
    pseudonym: string,
    converted: boolean,
    revenue: number,
    writeTimestamp: number,
  ): Promise<void> {
    await this.writes.write([
      {
        query: Q.exposureConversion.cql,
        params: [long(writeTimestamp), converted, revenue, campaignId, shard, pseudonym],
      },
    ]);
  }

  async recordPurchase(
    pseudonym: string,
    occurredAtMs: number,
    /** the purchase's key (eventKey: channel and id), so that two channels' purchases are two rows */
    eventKey: string,
    amount: number,
  ): Promise<void> {
    await this.writes.write([
      { query: Q.purchaseInsert.cql, params: [pseudonym, new Date(occurredAtMs), eventKey, amount] },
    ]);
  }

  /** The customer's purchases in (afterMs, untilMs], epoch milliseconds. */
  async purchasesBetween(pseudonym: string, afterMs: number, untilMs: number): Promise<StoredPurchase[]> {
    const rows = await allRows(this.client, Q.purchasesBetween, [
      pseudonym,
      new Date(afterMs),
      new Date(untilMs),
    ]);
    return rows.map((r) => ({
      occurredAtMs: (r['occurred_at'] as Date).getTime(),
      amount: (r['amount'] as number | null) ?? 0,
    }));
  }

  /** The customer's offer and control decisions in [sinceMs, untilMs), epoch milliseconds. */
  async customerDecisionsBetween(
    pseudonym: string,
    sinceMs: number,
    untilMs: number,
  ): Promise<CustomerDecision[]> {
    const rows = await allRows(this.client, Q.customerDecisionsBetween, [
      pseudonym,
      new Date(sinceMs),
      new Date(untilMs),
    ]);
    return rows.map((r) => ({
      pseudonym,
      decidedAtMs: (r['decided_at'] as Date).getTime(),
      decisionId: r['decision_id'] as string,
      campaignId: r['campaign_id'] as string,
      day: r['day'] as string,
      outcome: r['outcome'] as AnalyticsOutcome,
      windowDays: (r['window_days'] as number | null) ?? 7,
    }));
  }

  async campaignIds(): Promise<string[]> {
    return (await allRows(this.client, Q.campaigns, [])).map((r) => r['campaign_id'] as string);
  }

  /** The campaign's days with decisions, newest first, at most `limit`. */
  async daysOf(campaignId: string, limit: number): Promise<string[]> {
    return (await run(this.client, Q.daysOf, [campaignId, limit])).rows.map((r) => r['day'] as string);
  }

  /** Every row of one campaign day, page by page, grouped by customer (clustering order). */
  async forEachDecisionRow(
    campaignId: string,
    day: string,
    visit: (row: StoredDecisionRow) => void,
  ): Promise<void> {
    await forEachRow(this.client, Q.decisionsOfDay, [campaignId, day], (r) =>
      visit({
        pseudonym: r['customer_id'] as string,
        decisionId: r['decision_id'] as string,
        hour: r['hour'] as number | null,
        outcome: r['outcome'] as AnalyticsOutcome | null,
        offerId: r['offer_id'] as string | null,
        value: r['value'] as number | null,
        converted: r['converted'] as boolean | null,
        revenue: r['revenue'] as number | null,
        accepted: r['accepted'] as boolean | null,
        redeemed: r['redeemed'] as boolean | null,
        dismissed: r['dismissed'] as boolean | null,
      }),
    );
  }

  /** Every exposure of the campaign (all shards), page by page; rows without a group yet are skipped. */
  async forEachExposure(
    campaignId: string,
    shards: number,
    visit: (row: StoredExposure) => void,
  ): Promise<void> {
    for (let shard = 0; shard < shards; shard++)
      await forEachRow(this.client, Q.exposuresOfShard, [campaignId, shard], (r) => {
        const group = r['grp'] as 'treatment' | 'holdout' | null;
        if (!group) return;
        visit({
          pseudonym: r['customer_id'] as string,
          group,
          offerId: r['offer_id'] as string | null,
          converted: (r['converted'] as boolean | null) ?? false,
          revenue: (r['revenue'] as number | null) ?? 0,
        });
      });
  }
}

/** USING TIMESTAMP takes a bigint (the driver's Long). */
const long = (microseconds: number) => cassandra.types.Long.fromNumber(Math.trunc(microseconds));

async function forEachRow(
  client: CqlClient,
  stmt: Statement,
  params: unknown[],
  visit: (row: cassandra.types.Row) => void,
): Promise<void> {
  let pageState: string | undefined;
  do {
    const result = await run(client, stmt, params, { fetchSize: SCAN_PAGE, pageState });
    for (const row of result.rows) visit(row);
    pageState = result.pageState ?? undefined;
  } while (pageState);
}

async function allRows(
  client: CqlClient,
  stmt: Statement,
  params: unknown[],
): Promise<cassandra.types.Row[]> {
  const rows: cassandra.types.Row[] = [];
  await forEachRow(client, stmt, params, (r) => rows.push(r));
  return rows;
}
