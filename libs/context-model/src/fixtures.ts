/** Event builders for this lib's specs (not exported from the barrel). */
import type { AcceptedEvent, PurchasePayload } from '@nunchi/contracts';
import type { EventType } from '@nunchi/contracts/core';

export interface EventOptions {
  id: string;
  type?: EventType;
  /** ISO-8601 with offset */
  at: string;
  channel?: string;
  storeId?: string;
  customerId?: string;
  payload?: Record<string, unknown>;
  /** @default occurredAtMs */
  receivedAtMs?: number;
}

export function event(o: EventOptions): AcceptedEvent {
  const ms = Date.parse(o.at);
  if (Number.isNaN(ms)) throw new RangeError(`bad instant ${o.at}`);
  const e: AcceptedEvent = {
    id: o.id,
    type: o.type ?? 'visit',
    channel: o.channel ?? 'pos',
    occurredAt: o.at,
    occurredAtMs: ms,
    receivedAtMs: o.receivedAtMs ?? ms,
    customerId: o.customerId ?? 'c-000042',
    payload: o.payload ?? {},
  };
  if (o.storeId !== undefined) e.storeId = o.storeId;
  return e;
}

export type Line = [category: string, quantity: number, unitPrice: number];

/** A purchase; amount defaults to Σ quantity × unitPrice. */
export function purchase(
  o: Omit<EventOptions, 'type' | 'payload'> & { lines: Line[]; amount?: number },
): AcceptedEvent {
  const items = o.lines.map(([category, quantity, unitPrice], i) => ({
    sku: `sku-${category}-${i}`,
    category,
    quantity,
    unitPrice,
  }));
  const payload: PurchasePayload = {
    amount: o.amount ?? items.reduce((s, l) => s + l.quantity * l.unitPrice, 0),
    currency: 'KRW',
    items,
  };
  return event({ ...o, type: 'purchase', payload: payload as unknown as Record<string, unknown> });
}

import { prng } from '@nunchi/testing';

export { prng };
