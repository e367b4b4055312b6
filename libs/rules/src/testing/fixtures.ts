import { emptySnapshot } from '@nunchi/context-model';
import type {
  AcceptedEvent,
  ContextSnapshot,
  CustomerProfile,
  WindowTotals,
  Windows,
} from '@nunchi/contracts';
import type { CampaignDefinition } from '../campaign.js';
import { compileCampaign, type CompiledCampaign } from '../compile-campaign.js';
import type { CustomerUsage, DecisionInput } from '../decision.types.js';

/** Builders for spec tests and the benchmark (not exported from the lib's index). */

export function totals(t: Partial<WindowTotals> = {}): WindowTotals {
  return { spend: 0, purchases: 0, visits: 0, items: 0, events: 0, ...t };
}

export function windows(w: Partial<Record<keyof Windows, Partial<WindowTotals>>> = {}): Windows {
  return { d7: totals(w.d7), d30: totals(w.d30), d90: totals(w.d90), d365: totals(w.d365) };
}

export function context(customerId: string, over: Partial<ContextSnapshot> = {}): ContextSnapshot {
  return { ...emptySnapshot(customerId, Date.parse('2026-11-24T10:05:00.000Z')), ...over };
}

export function profile(id: string, over: Partial<CustomerProfile> = {}): CustomerProfile {
  return { id, attributes: {}, ...over };
}

/** Epoch ms of a Seoul wall-clock time, "2026-11-24T19:05". */
export function seoul(local: string): number {
  return Date.parse(`${local}:00+09:00`);
}

export function event(over: Partial<AcceptedEvent> & Pick<AcceptedEvent, 'type'>): AcceptedEvent {
  const at = over.occurredAtMs ?? seoul('2026-11-24T19:05');
  return {
    id: 'evt-1',
    channel: 'pos',
    occurredAt: new Date(at).toISOString(),
    occurredAtMs: at,
    receivedAtMs: at,
    customerId: 'c-000042',
    storeId: 'bundang-01',
    payload: {},
    ...over,
  };
}

export function purchase(
  items: Array<{ category: string; quantity?: number; unitPrice: number; sku?: string }>,
  over: Partial<AcceptedEvent> = {},
): AcceptedEvent {
  const lines = items.map((it, i) => ({
    sku: it.sku ?? `sku-${i}`,
    category: it.category,
    quantity: it.quantity ?? 1,
    unitPrice: it.unitPrice,
  }));
  const amount = lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0);
  return event({ type: 'purchase', payload: { amount, currency: 'KRW', items: lines }, ...over });
}

export function usage(over: Partial<CustomerUsage> = {}): CustomerUsage {
  return { offersToday: 0, byCampaignToday: {}, byCampaignLifetime: {}, byChannelToday: {}, ...over };
}

export function input(
  e: AcceptedEvent,
  customer: CustomerProfile | null,
  over: Partial<DecisionInput> = {},
): DecisionInput {
  return { event: e, customer, ctx: context(e.customerId), nowMs: e.occurredAtMs, usage: usage(), ...over };
}

/** A minimal valid campaign; override any field. */
export function campaign(
  over: Partial<CampaignDefinition> & Pick<CampaignDefinition, 'id'>,
): CampaignDefinition {
  return {
    name: over.id,
    trigger: { types: ['purchase'] },
    schedule: { timezone: 'Asia/Seoul' },
    offers: [{ id: 'o1', title: 'Offer', value: 1000 }],
    ...over,
  };
}

export function compiled(
  over: Partial<CampaignDefinition> & Pick<CampaignDefinition, 'id'>,
  version = 1,
): CompiledCampaign {
  return compileCampaign(campaign(over), version);
}
