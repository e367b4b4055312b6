import cassandra from 'cassandra-driver';
import type { DecisionRecord } from '@nunchi/contracts/core';
import { SpanKind, statementSpans, withSpan } from '@nunchi/telemetry';
import type { CqlClient } from '../client.js';
import { mapBounded } from '../bulk.js';
import { defineStatements, run, runAll, statement } from '../statements.js';
import { WriteGroup } from '../write-group.js';

const Q = defineStatements({
  byId: statement('decisions_by_id.get', 'SELECT record FROM decisions_by_id WHERE decision_id = ?'),
  insertById: statement(
    'decisions_by_id.insert',
    'INSERT INTO decisions_by_id (decision_id, customer_id, decided_at, record) VALUES (?, ?, ?, ?)',
  ),
  insertByCustomer: statement(
    'decisions.insert',
    'INSERT INTO decisions (customer_id, decided_at, decision_id, event_id, outcome, campaign_id, campaign_version, offer_id, channel, store_id, value, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  insertByCampaign: statement(
    'decisions_by_campaign.insert',
    'INSERT INTO decisions_by_campaign (campaign_id, day, decided_at, decision_id, customer_id, outcome, offer_id, value, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  // A redelivered decision reuses the instant of its earlier attempt, so its rows are upserts, not copies.
  decidedSince: statement(
    'decisions.decided_since',
    'SELECT decided_at, decision_id FROM decisions WHERE customer_id = ? AND decided_at >= ? LIMIT 500',
  ),
  // A merge (docs/identity.md): the absorbed customer's decisions become the survivor's.
  ofCustomerAll: statement(
    'decisions.all_of_customer',
    'SELECT decided_at, decision_id, event_id, outcome, campaign_id, campaign_version, offer_id, channel, store_id, value, cost FROM decisions WHERE customer_id = ?',
  ),
  deleteOfCustomer: statement(
    'decisions.delete_one',
    'DELETE FROM decisions WHERE customer_id = ? AND decided_at = ? AND decision_id = ?',
  ),
  // Listings for operators (`nunchi decisions list`): newest first, bounded.
  ofCustomer: statement(
    'decisions.list_of_customer',
    'SELECT decided_at, decision_id, event_id, outcome, campaign_id, campaign_version, offer_id, channel, store_id, value, cost FROM decisions WHERE customer_id = ? AND decided_at >= ? LIMIT ?',
  ),
  ofCampaignDay: statement(
    'decisions_by_campaign.list_of_day',
    'SELECT decided_at, decision_id, customer_id, outcome, offer_id, value, cost FROM decisions_by_campaign WHERE campaign_id = ? AND day = ? AND decided_at >= ? ORDER BY decided_at DESC LIMIT ?',
  ),

  // Budgets (see claimBudgets): static running totals and one claim row per decision id.
  budgetOf: statement(
    'campaign_budget.get',
    'SELECT offers_used, cost_used FROM campaign_budget WHERE campaign_id = ? LIMIT 1',
  ),
  claimsOf: statement(
    'campaign_budget.claims_of',
    'SELECT decision_id, cost FROM campaign_budget WHERE campaign_id = ? AND decision_id IN ?',
  ),
  totalsUpdate: statement(
    'campaign_budget.totals_update',
    'UPDATE campaign_budget SET offers_used = ?, cost_used = ? WHERE campaign_id = ? IF offers_used = ?',
    false,
  ),
  totalsFirst: statement(
    'campaign_budget.totals_first',
    'UPDATE campaign_budget SET offers_used = ?, cost_used = ? WHERE campaign_id = ? IF offers_used = null',
    false,
  ),
  claimInsert: statement(
    'campaign_budget.claim_insert',
    'INSERT INTO campaign_budget (campaign_id, decision_id, cost, claimed_at) VALUES (?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  claimDelete: statement(
    'campaign_budget.claim_delete',
    'DELETE FROM campaign_budget WHERE campaign_id = ? AND decision_id = ? IF EXISTS',
    false,
  ),

  // Contact ledger (see saveContacts): one row per customer, versioned by seq.
  contactsOf: statement(
    'customer_contacts.get',
    'SELECT seq, claims, lifetime FROM customer_contacts WHERE customer_id = ?',
  ),
  contactsOfMany: statement(
    'customer_contacts.get_many',
    'SELECT customer_id, seq, claims, lifetime FROM customer_contacts WHERE customer_id IN ?',
  ),
  contactsFirst: statement(
    'customer_contacts.insert',
    'INSERT INTO customer_contacts (customer_id, seq, claims, lifetime) VALUES (?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  contactsUpdate: statement(
    'customer_contacts.update',
    'UPDATE customer_contacts SET seq = ?, claims = ?, lifetime = ? WHERE customer_id = ? IF seq = ?',
    false,
  ),
});

/** One row of a decision listing (the per-customer or per-campaign table: outcomes offer, control, late). */
export interface DecisionSummary {
  decisionId: string;
  /** ISO-8601 */
  decidedAt: string;
  outcome: string;
  customerId: string;
  campaignId?: string;
  campaignVersion?: number;
  offerId?: string;
  /** per-customer listing only */
  eventId?: string;
  channel?: string;
  storeId?: string;
  /** major currency unit */
  value?: number;
  cost?: number;
}

/** Claims of one conditional batch: more would exceed Cassandra's batch size warning for little gain. */
export const MAX_BUDGET_GROUP = 64;

export type BudgetClaim = 'claimed' | 'already-claimed' | 'exhausted';

/** A campaign's running budget totals. */
export interface BudgetTotals {
  /** offers claimed so far; null before the first claim (no totals row yet) */
  offers: number | null;
  /** cost claimed so far, major currency unit */
  cost: number;
}

export interface BudgetLimits {
  /** total offers the campaign may make */
  maxOffers?: number;
  /** total cost the campaign may commit, major currency unit */
  maxCost?: number;
}

/** The contact ledger row as stored; libs/rules contact-ledger.ts (ContactLedger) gives it meaning. */
export interface StoredContacts {
  /** version for optimistic concurrency; 0 when the customer has no row yet */
  seq: number;
  claims: Record<string, string>;
  lifetime: Record<string, number>;
}

/** Result of a lightweight transaction whose outcome may be unknown (a timeout after the proposal went out). */
export type ConditionalWrite = 'applied' | 'conflict' | 'unknown';

const { responseErrorCodes } = cassandra.types;

const optional = <K extends string, V>(key: K, value: V | null | undefined) =>
  (value === null || value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

function summaryOf(r: cassandra.types.Row) {
  return {
    decisionId: r['decision_id'] as string,
    decidedAt: (r['decided_at'] as Date).toISOString(),
    outcome: r['outcome'] as string,
    ...optional('offerId', r['offer_id'] as string | null),
    ...optional('value', r['value'] as number | null),
    ...optional('cost', r['cost'] as number | null),
  };
}

/**
 * A failure after which a lightweight transaction may or may not have been applied (or was not tried):
 * the caller reads again and decides. Everything else is a real error.
 */
function isUncertain(error: unknown): boolean {
  if (error instanceof cassandra.errors.OperationTimedOutError) return true;
  if (error instanceof cassandra.errors.ResponseError) {
    return [
      responseErrorCodes.writeTimeout,
      responseErrorCodes.readTimeout,
      responseErrorCodes.unavailableException,
      responseErrorCodes.overloaded,
    ].includes(error.code);
  }
  return false;
}

/** Decision records by id (explanations, redelivery); budgets; contact ledger. */
export class DecisionRepository {
  /** decision records of many customers, one request (group commit) */
  private readonly writes: WriteGroup;

  constructor(private readonly client: CqlClient) {
    this.writes = WriteGroup.unlogged(client);
  }

  async findById(decisionId: string): Promise<DecisionRecord | undefined> {
    const row = (await run(this.client, Q.byId, [decisionId])).first();
    return row ? (JSON.parse(row['record'] as string) as DecisionRecord) : undefined;
  }

  /**
   * Stores a decision: a campaign outcome (offer, control, late) first in the per-customer and per-campaign
   * indexes (one unlogged batch; `day` is the local day of decidedAt they are listed under), then every
   * decision by id — last, because its presence means "complete" to a redelivery. Both go with other
   * decisions' writes of the moment (WriteGroup).
   */
  async record(d: DecisionRecord, day: string): Promise<void> {
    const decidedAt = new Date(d.decidedAt);
    if (d.campaignId) {
      const value = d.value ?? null;
      const cost = d.cost ?? null;
      const offerId = d.offerId ?? null;
      await this.writes.write([
        {
          query: Q.insertByCustomer.cql,
          params: [
            d.customerId,
            decidedAt,
            d.decisionId,
            d.eventId,
            d.outcome,
            d.campaignId,
            d.campaignVersion ?? null,
            offerId,
            d.channel,
            d.storeId ?? null,
            value,
            cost,
          ],
        },
        {
          query: Q.insertByCampaign.cql,
          params: [d.campaignId, day, decidedAt, d.decisionId, d.customerId, d.outcome, offerId, value, cost],
        },
      ]);
    }
    await this.writes.write([
      { query: Q.insertById.cql, params: [d.decisionId, d.customerId, decidedAt, JSON.stringify(d)] },
    ]);
  }

  /**
   * A merge: the decisions of the absorbed customer's events (`decisionIds`) become the survivor's — the
   * records by id name the survivor (an offer_response by either identifier finds its decision) and their
   * per-customer rows are copied under the survivor (erasure of the survivor finds them). An unlink moves them
   * back the same way (`from` the survivor, `to` the absorbed customer) and deletes the copies (`dropCopies`).
   * Keyed upserts: safe to repeat. Returns how many records were moved.
   */
  async moveDecisions(
    from: string,
    to: string,
    decisionIds: readonly string[],
    dropCopies = false,
  ): Promise<number> {
    const records = await mapBounded(decisionIds, 32, (id) => this.findById(id));
    const moving = records.filter((r): r is DecisionRecord => r !== undefined && r.customerId === from);
    await mapBounded(moving, 32, (d) =>
      run(this.client, Q.insertById, [
        d.decisionId,
        to,
        new Date(d.decidedAt),
        JSON.stringify({ ...d, customerId: to }),
      ]),
    );
    const ids = new Set(decisionIds);
    const rows = (await runAll(this.client, Q.ofCustomerAll, [from])).filter((r) =>
      ids.has(r['decision_id'] as string),
    );
    if (dropCopies)
      await mapBounded(rows, 32, (r) =>
        run(this.client, Q.deleteOfCustomer, [from, r['decided_at'], r['decision_id']]),
      );
    await mapBounded(rows, 32, (r) =>
      run(this.client, Q.insertByCustomer, [
        to,
        r['decided_at'],
        r['decision_id'],
        r['event_id'],
        r['outcome'],
        r['campaign_id'],
        r['campaign_version'],
        r['offer_id'],
        r['channel'],
        r['store_id'],
        r['value'],
        r['cost'],
      ]),
    );
    return moving.length;
  }

  /** When an earlier attempt of this decision was recorded in the per-customer table (redelivery only). */
  async decidedAtOf(customerId: string, decisionId: string, sinceMs: number): Promise<number | undefined> {
    const rows = (await run(this.client, Q.decidedSince, [customerId, new Date(sinceMs)])).rows;
    const row = rows.find((r) => r['decision_id'] === decisionId);
    return row ? (row['decided_at'] as Date).getTime() : undefined;
  }

  /** A customer's decisions with a campaign (offer, control, late) since sinceMs, newest first. */
  async ofCustomer(customerId: string, sinceMs: number, limit: number): Promise<DecisionSummary[]> {
    const rows = (await run(this.client, Q.ofCustomer, [customerId, new Date(sinceMs), limit])).rows;
    return rows.map((r) => ({
      ...summaryOf(r),
      customerId,
      ...optional('eventId', r['event_id'] as string | null),
      ...optional('campaignId', r['campaign_id'] as string | null),
      ...optional('campaignVersion', r['campaign_version'] as number | null),
      ...optional('channel', r['channel'] as string | null),
      ...optional('storeId', r['store_id'] as string | null),
    }));
  }

  /** A campaign's decisions of one local day at or after sinceMs, newest first. */
  async ofCampaignDay(
    campaignId: string,
    day: string,
    sinceMs: number,
    limit: number,
  ): Promise<DecisionSummary[]> {
    const rows = (await run(this.client, Q.ofCampaignDay, [campaignId, day, new Date(sinceMs), limit])).rows;
    return rows.map((r) => ({ ...summaryOf(r), customerId: r['customer_id'] as string, campaignId }));
  }

  /**
   * Claims budget for a group of decisions of one campaign at once (group commit), each exactly once
   * under any concurrency: one conditional batch in the campaign's partition moves the static running
   * totals (on the condition that nobody moved them since they were read) and inserts one claim row per
   * decision id (on the condition that none exists). Claims are granted in the order given while they fit.
   * A decision id that already holds a claim (a redelivery) is 'already-claimed' and not counted again.
   *
   * `expected`: the totals as the caller last saw them. When the whole group fits in them, the batch is
   * tried without reading first (one round trip instead of two in a burst on one replica); a stale guess
   * only fails the condition, and the claim then reads and retries. Exhaustion is only ever concluded
   * from totals read from Cassandra.
   */
  async claimBudgets(
    campaignId: string,
    claims: ReadonlyArray<{ decisionId: string; cost: number }>,
    limits: BudgetLimits,
    expected?: BudgetTotals,
  ): Promise<{ results: Map<string, BudgetClaim>; totals: BudgetTotals }> {
    const results = new Map<string, BudgetClaim>();
    let open = [...new Map(claims.map((c) => [c.decisionId, c])).values()];
    if (open.length > MAX_BUDGET_GROUP) throw new RangeError(`at most ${MAX_BUDGET_GROUP} claims per group`);
    let guess = expected;
    for (let attempt = 0; attempt < 100; attempt++) {
      let totals: BudgetTotals;
      const guessed = guess !== undefined;
      if (guess) {
        totals = guess;
        guess = undefined;
      } else {
        const [row, existing] = await Promise.all([
          run(this.client, Q.budgetOf, [campaignId]).then((r) => r.first()),
          run(this.client, Q.claimsOf, [campaignId, open.map((c) => c.decisionId)]),
        ]);
        for (const r of existing.rows) results.set(r['decision_id'] as string, 'already-claimed');
        open = open.filter((c) => !results.has(c.decisionId));
        totals = {
          offers: (row?.['offers_used'] as number | null | undefined) ?? null,
          cost: (row?.['cost_used'] as number | null | undefined) ?? 0,
        };
        if (open.length === 0) return { results, totals };
      }

      let offers = totals.offers ?? 0;
      let cost = totals.cost;
      const granted: Array<{ decisionId: string; cost: number }> = [];
      const exhausted: string[] = [];
      for (const c of open) {
        const fits =
          (limits.maxOffers === undefined || offers + 1 <= limits.maxOffers) &&
          (limits.maxCost === undefined || cost + c.cost <= limits.maxCost);
        if (!fits) {
          exhausted.push(c.decisionId);
          continue;
        }
        granted.push(c);
        offers++;
        cost += c.cost;
      }
      if (guessed && exhausted.length > 0) continue; // never conclude exhaustion from a guess: read
      if (granted.length === 0) {
        for (const id of exhausted) results.set(id, 'exhausted');
        return { results, totals };
      }
      const now = new Date();
      const outcome = await this.conditionalBatch('campaign_budget.claim', [
        totals.offers === null
          ? { query: Q.totalsFirst.cql, params: [offers, cost, campaignId] }
          : { query: Q.totalsUpdate.cql, params: [offers, cost, campaignId, totals.offers] },
        ...granted.map((c) => ({
          query: Q.claimInsert.cql,
          params: [campaignId, c.decisionId, c.cost, now],
        })),
      ]);
      if (outcome === 'applied') {
        for (const c of granted) results.set(c.decisionId, 'claimed');
        for (const id of exhausted) results.set(id, 'exhausted');
        return { results, totals: { offers, cost } };
      }
      // Another replica moved the totals first (or our guess was stale, or the outcome is unknown): read
      // again; claims that did land show up as already-claimed. After a conflict on totals we had read, a
      // little jitter keeps replicas from colliding in step.
      if (!guessed) await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 * (attempt + 1))));
    }
    throw new Error(`budget of ${campaignId}: too much contention; retry`);
  }

  /** Gives a decision's claimed budget back (the offer was not made after all). No claim: nothing to do. */
  async releaseBudget(campaignId: string, decisionId: string): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [totals, existing] = await Promise.all([
        run(this.client, Q.budgetOf, [campaignId]),
        run(this.client, Q.claimsOf, [campaignId, [decisionId]]),
      ]);
      const claim = existing.first();
      if (!claim) return;
      const row = totals.first();
      const used = (row?.['offers_used'] as number | null | undefined) ?? 0;
      const costUsed = (row?.['cost_used'] as number | null | undefined) ?? 0;
      const outcome = await this.conditionalBatch('campaign_budget.release', [
        {
          query: Q.totalsUpdate.cql,
          params: [used - 1, costUsed - (claim['cost'] as number), campaignId, used],
        },
        { query: Q.claimDelete.cql, params: [campaignId, decisionId] },
      ]);
      if (outcome === 'applied') return;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 * (attempt + 1))));
    }
    throw new Error(`budget of ${campaignId}: could not release ${decisionId}; retry`);
  }

  async budgetUsage(campaignId: string): Promise<{ offers: number; cost: number }> {
    const row = (await run(this.client, Q.budgetOf, [campaignId])).first();
    return {
      offers: (row?.['offers_used'] as number | null) ?? 0,
      cost: (row?.['cost_used'] as number | null) ?? 0,
    };
  }

  /** A customer's contact ledger (seq 0 and empty when there is none). */
  async contacts(customerId: string): Promise<StoredContacts> {
    return contactsOfRow((await run(this.client, Q.contactsOf, [customerId])).first());
  }

  /**
   * The ledgers of several customers in one request (keep it to a few dozen: one partition key each), a
   * customer without a row with the empty ledger (seq 0), as `contacts` gives it.
   */
  async contactsOfMany(customerIds: readonly string[]): Promise<Map<string, StoredContacts>> {
    const ledgers = new Map<string, StoredContacts>(customerIds.map((id) => [id, contactsOfRow(undefined)]));
    for (const row of (await run(this.client, Q.contactsOfMany, [[...customerIds]])).rows)
      ledgers.set(row['customer_id'] as string, contactsOfRow(row));
    return ledgers;
  }

  /**
   * Replaces the ledger with `next` (seq = expectedSeq + 1) if nobody changed it since it was read at
   * expectedSeq: a lightweight transaction on one row, so two replicas cannot both take the last slot
   * of a cap.
   */
  async saveContacts(
    customerId: string,
    next: StoredContacts,
    expectedSeq: number,
  ): Promise<ConditionalWrite> {
    try {
      const result =
        expectedSeq === 0
          ? await run(this.client, Q.contactsFirst, [customerId, next.seq, next.claims, next.lifetime])
          : await run(this.client, Q.contactsUpdate, [
              next.seq,
              next.claims,
              next.lifetime,
              customerId,
              expectedSeq,
            ]);
      return result.wasApplied() ? 'applied' : 'conflict';
    } catch (error) {
      if (isUncertain(error)) return 'unknown';
      throw error;
    }
  }

  /**
   * Rewrites a customer's ledger with `change` (which returns the ledger itself when there is nothing to do),
   * read and written again while another writer got there first: a merge or an unlink of customers, not the
   * decision path (which decides again on a conflict). False when it kept losing for `attempts` tries.
   */
  async updateContacts(
    customerId: string,
    change: (current: StoredContacts) => StoredContacts,
    attempts = 20,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const current = await this.contacts(customerId);
      const next = change(current);
      if (next === current) return true;
      if ((await this.saveContacts(customerId, next, current.seq)) === 'applied') return true;
    }
    return false;
  }

  private async conditionalBatch(
    name: string,
    queries: Array<{ query: string; params: unknown[] }>,
  ): Promise<ConditionalWrite> {
    const execute = async (): Promise<ConditionalWrite> => {
      try {
        return (await this.client.batch(queries, { prepare: true })).wasApplied() ? 'applied' : 'conflict';
      } catch (error) {
        if (isUncertain(error)) return 'unknown';
        throw error;
      }
    };
    if (!statementSpans()) return execute();
    return withSpan(
      `cassandra ${name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system': 'cassandra',
          'db.operation.name': name,
          'db.operation.batch.size': queries.length,
        },
      },
      execute,
    );
  }
}

/** A customer_contacts row as a ledger; none is the empty ledger (seq 0: the first claim creates the row). */
function contactsOfRow(row: cassandra.types.Row | null | undefined): StoredContacts {
  if (!row) return { seq: 0, claims: {}, lifetime: {} };
  return {
    seq: (row['seq'] as number | null) ?? 0,
    claims: (row['claims'] as Record<string, string> | null) ?? {},
    lifetime: (row['lifetime'] as Record<string, number> | null) ?? {},
  };
}
