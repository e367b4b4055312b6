import type { IdentityKey } from '@nunchi/config';
import { decisionIdOfKey, partitionOf } from '@nunchi/contracts/core';
import type { ErasureReceipt, ErasureStore } from '@nunchi/contracts';
import { analyticsPseudonym, MissingKekError, SealedDataError, unwrapDataKey } from '@nunchi/sealing';
import { EXPOSURE_WRITE_TIMESTAMP_CEILING, exposureShardOf } from '@nunchi/analytics-model';
import { addDays, localDay } from '@nunchi/context-model';
import { mapBounded } from '../bulk.js';
import type { CqlClient } from '../client.js';
import { defineStatements, run, runAll, statement } from '../statements.js';
import { ERASURE_FENCE_MS } from '../write-fence.js';
import { CustomerRepository, utcDay } from './customer.repository.js';
import { CustomerKeyRepository, type StoredCustomerKey } from './customer-key.repository.js';
import { MergeRepository } from './merge.repository.js';
import { ACTIVE_DAYS_KEPT } from './context.repository.js';

/*
 * Every row of one customer is found through keys, never by scanning a table:
 *   customers, customer_identities, customer_event_months, customer_days, customer_event_packs, decisions:
 *                           partitioned by customer
 *                           (and customer_daily, the rollups' former table, where a deployment may still hold
 *                           the customer's rows from before migration 0010);
 *   identities:             the keys listed in customer_identities (the reverse index);
 *   customer_events:        one partition per month listed in customer_event_months;
 *   decisions_by_id:        the ids in `decisions`, plus decisionIdOfKey(event key) of every event (decisions
 *                           without a campaign outcome are kept by id only);
 *   decisions_by_campaign:  (campaign_id, local day of decided_at, decided_at, decision_id) of each `decisions` row;
 *   active_customers:       (the customer's EVENTS partition, each day it keeps), customer id;
 *   analytics' tables:      under the customer's analytics pseudonym (computed with its data key, read before the
 *                           key is deleted) and under its id (rows stored before migration 0023), through
 *                           analytics_customer_decisions and the decisions table as above.
 */
const Q = defineStatements({
  tombstone: statement(
    'erased_customers.get_receipt',
    'SELECT erased_at, receipt FROM erased_customers WHERE customer_id = ?',
  ),
  writeTombstone: statement(
    'erased_customers.insert',
    'INSERT INTO erased_customers (customer_id, erased_at, receipt) VALUES (?, ?, ?)',
  ),
  logErasure: statement(
    'erasures_by_day.insert',
    'INSERT INTO erasures_by_day (day, erased_at, customer_id) VALUES (?, ?, ?)',
  ),
  allErased: statement('erased_customers.all', 'SELECT customer_id FROM erased_customers'),
  erasedOn: statement('erasures_by_day.of_day', 'SELECT customer_id FROM erasures_by_day WHERE day = ?'),
  profile: statement('customers.exists', 'SELECT customer_id FROM customers WHERE customer_id = ?'),
  identitiesOf: statement(
    'customer_identities.list',
    'SELECT id_type, id_value FROM customer_identities WHERE customer_id = ?',
  ),
  identityOwner: statement(
    'identities.owner',
    'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
  ),
  months: statement(
    'customer_event_months.list_for_erasure',
    'SELECT month FROM customer_event_months WHERE customer_id = ?',
  ),
  eventIds: statement(
    'customer_events.ids_of_month',
    'SELECT event_id FROM customer_events WHERE customer_id = ? AND month = ?',
  ),
  dayKeys: statement('customer_days.keys', 'SELECT day FROM customer_days WHERE customer_id = ?'),
  packWeeks: statement(
    'customer_event_packs.keys',
    'SELECT week FROM customer_event_packs WHERE customer_id = ?',
  ),
  patternRow: statement(
    'customer_patterns.exists',
    'SELECT customer_id FROM customer_patterns WHERE customer_id = ?',
  ),
  legacyDailyKeys: statement('customer_daily.keys', 'SELECT day FROM customer_daily WHERE customer_id = ?'),
  decisionsOf: statement(
    'decisions.of_customer',
    'SELECT decided_at, decision_id, campaign_id FROM decisions WHERE customer_id = ?',
  ),
  decisionById: statement(
    'decisions_by_id.exists',
    'SELECT decision_id FROM decisions_by_id WHERE decision_id = ?',
  ),
  decisionByCampaign: statement(
    'decisions_by_campaign.exists',
    'SELECT decision_id FROM decisions_by_campaign WHERE campaign_id = ? AND day = ? AND decided_at = ? AND decision_id = ?',
  ),

  // Deletions of the customer's own partitions (and of rows written on its behalf) carry a fence timestamp a
  // little in the future: a write already past the tombstone check when the erasure started (an event being
  // applied, a decision being recorded) lands with an earlier timestamp and stays invisible.
  contacts: statement(
    'customer_contacts.exists',
    'SELECT customer_id FROM customer_contacts WHERE customer_id = ?',
  ),
  analyticsDecisionsOf: statement(
    'analytics_customer_decisions.of_customer_for_erasure',
    'SELECT decision_id, campaign_id, day FROM analytics_customer_decisions WHERE customer_id = ?',
  ),
  analyticsPurchasesOf: statement(
    'analytics_purchases.keys',
    'SELECT event_id FROM analytics_purchases WHERE customer_id = ?',
  ),
  analyticsExposure: statement(
    'analytics_exposures.exists',
    'SELECT customer_id FROM analytics_exposures WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
  ),
  analyticsDecision: statement(
    'analytics_decisions.exists',
    'SELECT decision_id FROM analytics_decisions WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
  ),
  // Crypto-shredding: without the key, what was sealed under it — in ENRICHED, the DLQ, a backup — is noise.
  deleteDataKey: statement(
    'customer_keys.erase',
    'DELETE FROM customer_keys USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteContacts: statement(
    'customer_contacts.erase',
    'DELETE FROM customer_contacts USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteAnalyticsCustomerDecisions: statement(
    'analytics_customer_decisions.erase',
    'DELETE FROM analytics_customer_decisions USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteAnalyticsPurchases: statement(
    'analytics_purchases.erase',
    'DELETE FROM analytics_purchases USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteAnalyticsDecision: statement(
    'analytics_decisions.erase',
    'DELETE FROM analytics_decisions USING TIMESTAMP ? WHERE campaign_id = ? AND day = ? AND customer_id = ? AND decision_id = ?',
  ),
  deleteAnalyticsExposure: statement(
    'analytics_exposures.erase',
    'DELETE FROM analytics_exposures USING TIMESTAMP ? WHERE campaign_id = ? AND shard = ? AND customer_id = ?',
  ),
  deleteProfile: statement(
    'customers.erase',
    'DELETE FROM customers USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteIdentityIndex: statement(
    'customer_identities.erase',
    'DELETE FROM customer_identities USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteIdentity: statement('identities.erase', 'DELETE FROM identities WHERE id_type = ? AND id_value = ?'),
  deleteMonth: statement(
    'customer_events.erase_month',
    'DELETE FROM customer_events USING TIMESTAMP ? WHERE customer_id = ? AND month = ?',
  ),
  deleteMonths: statement(
    'customer_event_months.erase',
    'DELETE FROM customer_event_months USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  activeDays: statement(
    'active_customers.of_customer',
    'SELECT day FROM active_customers WHERE partition = ? AND day IN ? AND customer_id = ?',
  ),
  deleteActiveDays: statement(
    'active_customers.erase',
    'DELETE FROM active_customers USING TIMESTAMP ? WHERE partition = ? AND day IN ? AND customer_id = ?',
  ),
  deleteDays: statement(
    'customer_days.erase',
    'DELETE FROM customer_days USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deletePacks: statement(
    'customer_event_packs.erase',
    'DELETE FROM customer_event_packs USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deletePatterns: statement(
    'customer_patterns.erase',
    'DELETE FROM customer_patterns USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteLegacyDaily: statement(
    'customer_daily.erase',
    'DELETE FROM customer_daily USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteDecisions: statement(
    'decisions.erase',
    'DELETE FROM decisions USING TIMESTAMP ? WHERE customer_id = ?',
  ),
  deleteDecisionById: statement(
    'decisions_by_id.erase',
    'DELETE FROM decisions_by_id USING TIMESTAMP ? WHERE decision_id = ?',
  ),
  deleteDecisionByCampaign: statement(
    'decisions_by_campaign.erase',
    'DELETE FROM decisions_by_campaign USING TIMESTAMP ? WHERE campaign_id = ? AND day = ? AND decided_at = ? AND decision_id = ?',
  ),
});

export interface ErasureOptions {
  /** business IANA time zone: decisions_by_campaign is keyed by the local day of each decision */
  timeZone: string;
  /** EVENTS partitions (NUNCHI_PARTITIONS): active_customers is keyed by the customer's */
  partitions: number;
  /** the erasure's instant; @default now */
  now?: Date;
  /**
   * milliseconds the deletions' timestamp lies ahead of `now` (the fence): no write stamped at most
   * MAX_WRITE_LEAD_MS after its event's receipt outlives them (write-fence.ts); @default ERASURE_FENCE_MS
   */
  fenceMs?: number;
  /**
   * milliseconds after the tombstone is written before erase() returns, at the least: ingestion replicas
   * trust a cached "not erased" for up to NUNCHI_IDENTITY_CACHE_TTL_MS, so once erase() has returned with
   * this at that value, none of them accepts the customer's events even if it missed the hint; @default 0
   */
  settleMs?: number;
  /** called once the tombstone is written, before the deletions: send the customers-changed hint here */
  onTombstone?: () => void;
  /**
   * the identity keys the process holds (current first; identityKeys(config)), to unwrap the customer's data
   * key and find its analytics rows by pseudonym; rows under a key none of them opens are left, unlinkable
   * once the key is deleted
   */
  keks: readonly IdentityKey[];
}

/** reads or deletes in flight at once during an erasure */
const CONCURRENCY = 64;
/** merges followed from a customer to its survivor, at most: a longer chain is a bug, not a customer */
const MAX_CHAIN = 16;

export interface MergedErasureOptions extends Omit<ErasureOptions, 'onTombstone'> {
  /** called once each customer's tombstone is written: send the customers-changed hint here */
  onTombstone?: (customerId: string) => void;
}

/**
 * Erases one customer from every table, returns what was removed, and leaves a tombstone so that a
 * redelivered or late event cannot bring the customer back (the context service refuses events of an
 * erased customer). Safe to run again: a repeat removes whatever arrived since and keeps the first date.
 */
export class ErasureRepository {
  private readonly customers: CustomerRepository;
  private readonly merges: MergeRepository;
  private readonly keys: CustomerKeyRepository;

  constructor(private readonly client: CqlClient) {
    this.customers = new CustomerRepository(client);
    this.merges = new MergeRepository(client);
    this.keys = new CustomerKeyRepository(client);
  }

  /**
   * Erases a customer and everyone merged with it (docs/identity.md): one person under several ids. Whichever
   * of their ids is named, the survivor and every customer merged into it (directly or through another) are
   * erased, and the merge records go too (they name identities). The survivor's receipt lists the others'.
   */
  async eraseMerged(customerId: string, options: MergedErasureOptions): Promise<ErasureReceipt> {
    const survivorId = await this.survivorOf(customerId);
    const absorbed = await this.absorbedInto(survivorId);
    const { onTombstone, ...rest } = options;
    const [receipt, ...others] = await Promise.all(
      [survivorId, ...absorbed.map((a) => a.absorbedId)].map((id) =>
        this.erase(id, { ...rest, onTombstone: () => onTombstone?.(id) }),
      ),
    );
    const bySurvivor = new Map<string, string[]>();
    for (const a of absorbed)
      bySurvivor.set(a.survivorId, [...(bySurvivor.get(a.survivorId) ?? []), a.absorbedId]);
    await Promise.all([...bySurvivor].map(([s, ids]) => this.merges.forget(s, ids)));
    if (!absorbed.length) return receipt;
    return { ...receipt, removed: { ...receipt.removed, customer_merges: absorbed.length }, merged: others };
  }

  /** The customer this one was merged into, followed to the end (itself if it was not merged). */
  private async survivorOf(customerId: string): Promise<string> {
    let id = customerId;
    for (let hop = 0; hop < MAX_CHAIN; hop++) {
      const mergedInto = await this.customers.mergedIntoOf(id);
      if (!mergedInto) return id;
      id = mergedInto;
    }
    throw new Error(`customer ${customerId}: merged more than ${MAX_CHAIN} times over; not erased`);
  }

  /** Every customer merged into this one, directly or through another. */
  private async absorbedInto(survivorId: string): Promise<Array<{ survivorId: string; absorbedId: string }>> {
    const out: Array<{ survivorId: string; absorbedId: string }> = [];
    const seen = new Set([survivorId]);
    for (let level = [survivorId]; level.length;) {
      const lists = await Promise.all(level.map(async (s) => [s, await this.merges.absorbedBy(s)] as const));
      level = [];
      for (const [s, ids] of lists)
        for (const a of ids.filter((id) => !seen.has(id))) {
          seen.add(a);
          out.push({ survivorId: s, absorbedId: a });
          level.push(a);
        }
    }
    return out;
  }

  /** Every erased customer id (a paged scan of the tombstones: at start, not per event). */
  async allErased(): Promise<string[]> {
    return (await runAll(this.client, Q.allErased, [])).map((r) => r['customer_id'] as string);
  }

  /** Customers erased on the UTC days of `sinceMs` up to now (one small partition per day). */
  async erasedSince(sinceMs: number, nowMs: number): Promise<string[]> {
    const days = new Set([utcDay(sinceMs), utcDay(nowMs)]);
    const pages = await Promise.all([...days].map((day) => runAll(this.client, Q.erasedOn, [day])));
    return pages.flat().map((r) => r['customer_id'] as string);
  }

  async erase(customerId: string, options: ErasureOptions): Promise<ErasureReceipt> {
    const now = options.now ?? new Date();
    const fence = (now.getTime() + (options.fenceMs ?? ERASURE_FENCE_MS)) * 1000;
    const previous = (await run(this.client, Q.tombstone, [customerId])).first();
    const erasedAt = (previous?.['erased_at'] as Date | undefined) ?? now;
    // The tombstone first: from here on the context service refuses this customer's events, and ingestion
    // replicas learn of it from the day's log (erasedSince) within their refresh interval.
    await Promise.all([
      run(this.client, Q.writeTombstone, [customerId, erasedAt, null]),
      run(this.client, Q.logErasure, [utcDay(now.getTime()), now, customerId]),
    ]);
    const settled = Date.now() + (options.settleMs ?? 0);
    options.onTombstone?.();

    const [
      profile,
      identities,
      months,
      dayKeys,
      packWeeks,
      legacyDaily,
      decisions,
      patterns,
      contacts,
      dataKey,
    ] = await Promise.all([
      run(this.client, Q.profile, [customerId]),
      runAll(this.client, Q.identitiesOf, [customerId]),
      runAll(this.client, Q.months, [customerId]),
      runAll(this.client, Q.dayKeys, [customerId]),
      runAll(this.client, Q.packWeeks, [customerId]),
      runAll(this.client, Q.legacyDailyKeys, [customerId]),
      runAll(this.client, Q.decisionsOf, [customerId]),
      run(this.client, Q.patternRow, [customerId]),
      run(this.client, Q.contacts, [customerId]),
      this.keys.get(customerId),
    ]);
    // Analytics' rows name the customer by its pseudonym, and by its id those from before migration 0023.
    const pseudonym = pseudonymOf(customerId, dataKey, options.keks);
    const analyticsIds = [customerId, ...(pseudonym ? [pseudonym] : [])];
    const analyticsDecisions = (
      await Promise.all(
        analyticsIds.map(async (id) =>
          (await runAll(this.client, Q.analyticsDecisionsOf, [id])).map((row) => ({ id, row })),
        ),
      )
    ).flat();
    const analyticsPurchases = (
      await Promise.all(analyticsIds.map((id) => runAll(this.client, Q.analyticsPurchasesOf, [id])))
    ).flat();
    // The days active_customers keeps, and tomorrow (an event folded while this runs is fenced off too).
    const today = localDay(now.getTime(), options.timeZone);
    const activeKey = [
      partitionOf(customerId, options.partitions),
      Array.from({ length: ACTIVE_DAYS_KEPT + 1 }, (_, i) => addDays(today, 1 - i)),
      customerId,
    ];
    const activeDays = await runAll(this.client, Q.activeDays, activeKey);
    const monthNames = months.map((r) => r['month'] as string);
    const eventIds = (
      await mapBounded(monthNames, CONCURRENCY, (m) => runAll(this.client, Q.eventIds, [customerId, m]))
    )
      .flat()
      .map((r) => r['event_id'] as string);

    const byCampaign = decisions
      .filter((d) => d['campaign_id'] !== null)
      .map((d) => {
        const decidedAt = d['decided_at'] as Date;
        return [
          d['campaign_id'] as string,
          localDay(decidedAt.getTime(), options.timeZone),
          decidedAt,
          d['decision_id'] as string,
        ] as const;
      });
    const decisionIds = [
      ...new Set([...decisions.map((d) => d['decision_id'] as string), ...eventIds.map(decisionIdOfKey)]),
    ];

    // Analytics' rows of the customer: its own index (90 days) and the decisions table (older ones) name them.
    const analyticsKeys = [
      ...new Map(
        [
          ...analyticsDecisions.map(
            ({ id, row: r }) =>
              [r['campaign_id'] as string, r['day'] as string, id, r['decision_id'] as string] as const,
          ),
          ...byCampaign.flatMap(([campaignId, day, , decisionId]) =>
            analyticsIds.map((id) => [campaignId, day, id, decisionId] as const),
          ),
        ].map((key) => [key.join('/'), key]),
      ).values(),
    ];
    const exposureKeys = [...new Set(analyticsKeys.map(([campaignId]) => campaignId))].flatMap((campaignId) =>
      analyticsIds.map((id) => [campaignId, exposureShardOf(id), id] as const),
    );

    // Point reads to count what exists (and, for identities, to leave a card that now belongs to someone else).
    const [ownedIdentities, byIdIds, byCampaignKeys, analyticsRows, exposureRows] = await Promise.all([
      mapBounded(identities, CONCURRENCY, async (r) => {
        const owner = (await run(this.client, Q.identityOwner, [r['id_type'], r['id_value']])).first();
        return owner?.['customer_id'] === customerId
          ? ([r['id_type'] as string, r['id_value'] as string] as const)
          : undefined;
      }),
      mapBounded(decisionIds, CONCURRENCY, async (id) =>
        (await run(this.client, Q.decisionById, [id])).rowLength ? id : undefined,
      ),
      mapBounded(byCampaign, CONCURRENCY, async (key) =>
        (await run(this.client, Q.decisionByCampaign, [...key])).rowLength ? key : undefined,
      ),
      mapBounded(analyticsKeys, CONCURRENCY, async (key) =>
        (await run(this.client, Q.analyticsDecision, [...key])).rowLength ? key : undefined,
      ),
      mapBounded(exposureKeys, CONCURRENCY, async (key) =>
        (await run(this.client, Q.analyticsExposure, [...key])).rowLength ? key : undefined,
      ),
    ]);
    const present = <T>(xs: Array<T | undefined>): T[] => xs.filter((x): x is T => x !== undefined);

    const deletions: Array<[(typeof Q)[keyof typeof Q], unknown[]]> = [
      [Q.deleteProfile, [fence, customerId]],
      [Q.deleteIdentityIndex, [fence, customerId]],
      [Q.deleteMonths, [fence, customerId]],
      [Q.deleteDays, [fence, customerId]],
      [Q.deletePacks, [fence, customerId]],
      [Q.deleteActiveDays, [fence, ...activeKey]],
      [Q.deletePatterns, [fence, customerId]],
      // Rows from before migration 0010 (copied to customer_days, never read again), if any.
      [Q.deleteLegacyDaily, [fence, customerId]],
      [Q.deleteDecisions, [fence, customerId]],
      ...monthNames.map((m): [typeof Q.deleteMonth, unknown[]] => [Q.deleteMonth, [fence, customerId, m]]),
      ...present(ownedIdentities).map(([type, value]): [typeof Q.deleteIdentity, unknown[]] => [
        Q.deleteIdentity,
        [type, value],
      ]),
      // Every derivable decision id, found or not: a decision still being recorded is fenced off too.
      ...decisionIds.map((id): [typeof Q.deleteDecisionById, unknown[]] => [
        Q.deleteDecisionById,
        [fence, id],
      ]),
      ...byCampaign.map((key): [typeof Q.deleteDecisionByCampaign, unknown[]] => [
        Q.deleteDecisionByCampaign,
        [fence, ...key],
      ]),
      // The contact ledger (caps, contact policy) and analytics' rows: the figures are recomputed without them.
      [Q.deleteContacts, [fence, customerId]],
      ...analyticsIds.flatMap((id): Array<[(typeof Q)[keyof typeof Q], unknown[]]> => [
        [Q.deleteAnalyticsCustomerDecisions, [fence, id]],
        [Q.deleteAnalyticsPurchases, [fence, id]],
      ]),
      ...analyticsKeys.map((key): [typeof Q.deleteAnalyticsDecision, unknown[]] => [
        Q.deleteAnalyticsDecision,
        [fence, ...key],
      ]),
      // Exposure cells are written with timestamps above the clock (first exposure wins): deleted above them all.
      ...exposureKeys.map((key): [typeof Q.deleteAnalyticsExposure, unknown[]] => [
        Q.deleteAnalyticsExposure,
        [EXPOSURE_WRITE_TIMESTAMP_CEILING, ...key],
      ]),
    ];
    await mapBounded(deletions, CONCURRENCY, ([stmt, params]) => run(this.client, stmt, params));
    // The data key last, once everything else is gone: an erasure cut short and run again still finds the
    // analytics rows by the pseudonym only the key gives. With a fence too: a key created by an event applied
    // while the erasure ran (an INSERT … IF NOT EXISTS stamped now) lands behind the deletion and is never read.
    await run(this.client, Q.deleteDataKey, [fence, customerId]);

    const receipt: ErasureReceipt = {
      customerId,
      erasedAt: erasedAt.toISOString(),
      alreadyErased: previous !== null && previous !== undefined,
      removed: {
        customers: profile.rowLength,
        identities: present(ownedIdentities).length,
        customer_identities: identities.length,
        customer_events: eventIds.length,
        customer_event_months: monthNames.length,
        customer_days: dayKeys.length,
        active_customers: activeDays.length,
        // Named only where there was something: deployments from before migration 0010 (copies of customer_days).
        ...(legacyDaily.length ? { customer_daily: legacyDaily.length } : {}),
        // Named only where there was something: customers of pattern campaigns (docs/patterns.md).
        ...(patterns.rowLength ? { customer_patterns: patterns.rowLength } : {}),
        // Named only where there was something: packed weeks (`nunchi history pack`).
        ...(packWeeks.length ? { customer_event_packs: packWeeks.length } : {}),
        decisions: decisions.length,
        decisions_by_campaign: present(byCampaignKeys).length,
        decisions_by_id: present(byIdIds).length,
        customer_contacts: contacts.rowLength,
        analytics_decisions: present(analyticsRows).length,
        analytics_exposures: present(exposureRows).length,
        analytics_customer_decisions: analyticsDecisions.length,
        analytics_purchases: analyticsPurchases.length,
        // the customer's data key: what ENRICHED (and the decision stage's DLQ) sealed under it is unreadable now
        customer_keys: dataKey ? 1 : 0,
      },
      stores: erasureStores(options.settleMs ?? 0),
    };
    await run(this.client, Q.writeTombstone, [customerId, erasedAt, JSON.stringify(receipt)]);
    const wait = settled - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return receipt;
  }

  /** The receipt kept with the tombstone, if the customer was erased. */
  async receiptOf(customerId: string): Promise<ErasureReceipt | undefined> {
    const row = (await run(this.client, Q.tombstone, [customerId])).first();
    if (!row) return undefined;
    const text = row['receipt'] as string | null;
    return text
      ? (JSON.parse(text) as ErasureReceipt)
      : { customerId, erasedAt: (row['erased_at'] as Date).toISOString(), alreadyErased: false, removed: {} };
  }
}

/**
 * The customer's analytics pseudonym, from its stored data key; undefined without a key, or with one wrapped
 * under an identity key not in `keks`, or that does not unwrap (its rows then stay, unlinkable once the key is
 * deleted).
 */
function pseudonymOf(
  customerId: string,
  stored: StoredCustomerKey | undefined,
  keks: readonly IdentityKey[],
): string | undefined {
  if (!stored) return undefined;
  try {
    return analyticsPseudonym(customerId, unwrapDataKey(customerId, stored, keks));
  } catch (error) {
    // Under an identity key not given, or a key that does not unwrap (a wrong secret under the same key id, an
    // altered row): the erasure goes on — the rows left under the pseudonym are unlinkable once the key is gone.
    if (error instanceof MissingKekError || error instanceof SealedDataError) return undefined;
    throw error;
  }
}

/**
 * Every store of personal data and what an erasure does there: the receipt lists them all, so what is not
 * erased (yet) is said, not hidden. `identityCacheTtlMs`: how long ingestion replicas take at most.
 */
export function erasureStores(identityCacheTtlMs: number): ErasureStore[] {
  return [
    {
      store: 'cassandra',
      erased: true,
      detail:
        'every row of the customer, per table in `removed` (profile, identities, events, rollups, decisions, contact ledger, analytics, data key); a tombstone refuses later events',
    },
    {
      store: 'customer data key',
      erased: true,
      detail:
        "deleted (customer_keys): every copy of what was sealed under it — event payloads on EVENTS, the profile, context and payloads on ENRICHED, decisions' inputs and loss details, the context and decision stages' DLQ entries, stream backups — can no longer be opened",
    },
    {
      store: 'context hot tier',
      erased: true,
      detail: 'evicted by the replica that erased, and by every other on the customers-changed hint',
    },
    {
      store: 'ingestion identity cache',
      erased: true,
      detail: `identifiers dropped on the customers-changed hint, and from the erasure log within ${identityCacheTtlMs} ms by a replica that missed it; the erasure answers only after that`,
    },
    {
      store: 'data-key caches (ingestion, context, decision, analytics)',
      erased: true,
      detail: `the key dropped from memory on the customers-changed hint (context, decision), and from the erasure log within ${identityCacheTtlMs} ms by every replica; the erasure answers only after that`,
    },
    {
      store: 'decision contact-ledger cache',
      erased: false,
      detail: "not evicted: it ages out of the cache; the erased customer's events no longer reach decision",
    },
    {
      store: 'streams (EVENTS, ENRICHED, DECISIONS, DLQ)',
      erased: false,
      detail:
        "messages stay until their retention (7 days, 1 day, 30 days, 30 days): EVENTS payloads, ENRICHED's personal part and DECISIONS' inputs and loss details unreadable (sealed under the deleted key); the rest of each message (ids, times, store, campaign and outcome) readable; DLQ identifiers sealed under the identity key",
    },
  ];
}
