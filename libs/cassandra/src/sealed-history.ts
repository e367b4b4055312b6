import { isSealedEvent, type SealedField } from '@nunchi/contracts/core';
import type { AcceptedEvent, EventsMessage } from '@nunchi/contracts';
import type { DailyRollup } from '@nunchi/context-model';
import { isSealedCell, openCell, openSealed, SealedDataError, sealCell, type DataKey } from '@nunchi/sealing';
import { decodeDayTotals, encodeDayTotals } from './day-totals.js';
import { sealEvent } from './customer-keyring.js';

/**
 * A customer's history as Cassandra stores it, sealed under the customer's data key (crypto-shredding of the
 * database's own rows, docs/security.md "Per-customer keys"): an erasure deletes the key, so a backup or
 * snapshot of `customer_events` and `customer_days` taken before it cannot be read for that customer after.
 *
 * - `customer_events.body`: the event as EVENTS carries it, its payload (items, amounts, profile values) one
 *   SealedField; id, type, channel, customer, times, store and session in clear, as in the streams.
 * - `customer_days.totals`: the whole cell (libs/sealing sealCell), bound to the customer and the day.
 *
 * Rows written before sealing are read as they are (a clear body has no `sealedPayload`; clear totals start
 * with their format version), and age out with their TTL.
 */

/**
 * The `customer_events.body` of an event: JSON of the event with its payload sealed. `sealedPayload`, the
 * payload as EVENTS carried it, is stored as it is when it is sealed for this customer under `key` (the same
 * format and binding: sealing it again would cost ~12 µs an event for an equivalent value).
 */
export function eventBody(event: AcceptedEvent, key: DataKey, sealedPayload?: SealedField): string {
  if (sealedPayload?.customerId === event.customerId && sealedPayload.keyId === key.id) {
    // (JSON leaves out the opened payload, undefined)
    return JSON.stringify({ ...event, payload: undefined, sealedPayload });
  }
  return JSON.stringify(sealEvent(event, key));
}

/** The `customer_days.totals` of one day's rollups (every dim of the day), sealed. */
export function dayTotalsCell(
  customerId: string,
  day: string,
  rows: readonly DailyRollup[],
  key: DataKey,
): Buffer {
  return sealCell(customerId, key, dayPlace(day), encodeDayTotals(day, rows));
}

/** A stored `customer_events.body`, parsed: its payload still sealed, or a row in clear from before. */
export function parseEventBody(body: string): EventsMessage {
  return JSON.parse(body) as EventsMessage;
}

/** Whether reading these rows needs the customer's data key (any of them sealed). */
export function anySealed(bodies: readonly EventsMessage[], cells: readonly Buffer[] = []): boolean {
  return bodies.some(isSealedEvent) || cells.some(isSealedCell);
}

/** The event of a stored body (parseEventBody), opened with the customer's data key if sealed. */
export function openEventBody(
  customerId: string,
  stored: EventsMessage,
  key: DataKey | undefined,
): AcceptedEvent {
  if (!isSealedEvent(stored)) return stored;
  // (rest, then the payload set on it: a spread of the rest into a new object costs ~1 µs more an event)
  const { sealedPayload, ...event } = stored;
  (event as AcceptedEvent).payload = openSealed<AcceptedEvent['payload']>(
    sealedPayload,
    required(customerId, key),
  );
  return event as AcceptedEvent;
}

/** One day's rollups from its stored `customer_days.totals`, opened with the customer's data key if sealed. */
export function openDayTotals(
  customerId: string,
  day: string,
  cell: Buffer,
  key: DataKey | undefined,
): DailyRollup[] {
  const totals = isSealedCell(cell)
    ? openCell(customerId, required(customerId, key), dayPlace(day), cell)
    : cell;
  return decodeDayTotals(day, totals);
}

/**
 * A sealed row without a key: the customer was erased (its rows are being deleted, and nothing should be
 * folding them), or the key was lost. Not worth a retry.
 */
function required(customerId: string, key: DataKey | undefined): DataKey {
  if (key) return key;
  throw new SealedDataError(
    `the stored history of customer ${customerId} is sealed, and the customer has no data key (erased, or the key was lost): it cannot be read`,
  );
}

const dayPlace = (day: string) => `customer_days.totals/${day}`;
