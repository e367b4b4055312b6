import {
  CustomerKeyRepository,
  decisionInputsOpener,
  DecisionRepository,
  type DecisionSummary,
} from '@nunchi/cassandra';
import { identityKeys } from '@nunchi/config';
import { addDays, localDay } from '@nunchi/context-model';
import { decisionIdOf } from '@nunchi/contracts/core';
import { explainRecord } from '@nunchi/rules';
import type { Resources } from '../resources.js';

/** The stored decision and its explanation, by decision id or by the id of the event it decided. */
export async function explainDecision(
  resources: Resources,
  ref: { decisionId?: string; event?: { channel: string; id: string } },
): Promise<string[]> {
  // The decision id is derived from the event's channel and id (decisionIdOf): every event has exactly one
  // decision, whatever its outcome (offer, control, late or none), so they always find it.
  const id = ref.event !== undefined ? decisionIdOf(ref.event) : ref.decisionId!;
  const cql = await resources.cassandra();
  const stored = await new DecisionRepository(cql).findById(id);
  if (!stored) {
    throw new Error(
      ref.event !== undefined
        ? `no decision for event ${ref.event.id} of channel ${ref.event.channel} (decision id ${id}): the event was not decided yet, was refused, or has expired`
        : `no decision ${id}${id.startsWith('d-') ? '' : ' (decision ids start with "d-"; for an event id use --event)'}`,
    );
  }
  // The inputs the rule saw are sealed under the customer's data key: opened with the identity key, if set.
  const open = decisionInputsOpener(new CustomerKeyRepository(cql), identityKeys(resources.config));
  return explainRecord(await open(stored));
}

export interface ListOptions {
  customerId?: string;
  campaignId?: string;
  /** epoch milliseconds */
  sinceMs: number;
  limit: number;
  nowMs?: number;
}

/**
 * Decisions with a campaign (offer, control, late), newest first: a customer's from the per-customer table,
 * a campaign's from the per-(campaign, local day) table, day by day back to `sinceMs`. Decisions without any
 * campaign (outcome none) are in neither: `decisions explain --event <id> --channel <channel>` finds those.
 */
export async function listDecisions(resources: Resources, options: ListOptions): Promise<DecisionSummary[]> {
  const repo = new DecisionRepository(await resources.cassandra());
  if (options.customerId !== undefined)
    return repo.ofCustomer(options.customerId, options.sinceMs, options.limit);
  const tz = resources.config.domain.timeZone;
  const first = localDay(options.sinceMs, tz);
  const out: DecisionSummary[] = [];
  for (
    let day = localDay(options.nowMs ?? Date.now(), tz);
    day >= first && out.length < options.limit;
    day = addDays(day, -1)
  )
    out.push(
      ...(await repo.ofCampaignDay(options.campaignId!, day, options.sinceMs, options.limit - out.length)),
    );
  return out;
}

/** A listing as a table with a header row. */
export function formatDecisions(list: DecisionSummary[], by: 'customer' | 'campaign'): string[] {
  const rows = list.map((d) => [
    d.decidedAt,
    d.decisionId,
    d.outcome,
    by === 'customer'
      ? `${d.campaignId ?? '-'}${d.campaignVersion !== undefined ? ` v${d.campaignVersion}` : ''}`
      : d.customerId,
    d.offerId ?? '-',
    d.value !== undefined ? String(d.value) : '-',
    ...(by === 'customer'
      ? [`${d.channel ?? '-'}${d.storeId ? `@${d.storeId}` : ''}`, d.eventId ?? '-']
      : []),
  ]);
  const header = [
    'DECIDED AT',
    'DECISION',
    'OUTCOME',
    by === 'customer' ? 'CAMPAIGN' : 'CUSTOMER',
    'OFFER',
    'VALUE',
  ];
  if (by === 'customer') header.push('CHANNEL', 'EVENT');
  return table([header, ...rows]);
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}
