/*
 * Write timestamps and erasure. An erasure deletes a customer's rows with a timestamp ERASURE_FENCE_MS ahead of
 * its clock, so that a write already under way when it started (an event being applied, a decision being
 * recorded) lands behind the deletion and stays invisible. That holds only for writes whose timestamp is not
 * further ahead: a write stamped with a time the sender chose (a profile_update is written at the event's
 * occurredAt, so that the latest change of each field wins) could otherwise outlive the deletion — validation
 * lets an event be dated up to five minutes ahead. Such timestamps are clamped to MAX_WRITE_LEAD_MS after the
 * moment ingestion accepted the event, which lies before any erasure that could still miss the write.
 */

/** milliseconds an erasure's deletions lie ahead of its clock; @default 60_000 */
export const ERASURE_FENCE_MS = 60_000;

/**
 * milliseconds a write's timestamp may lie ahead of the moment ingestion accepted its event, at most: below
 * ERASURE_FENCE_MS by the clock skew tolerated between hosts (30 s).
 */
export const MAX_WRITE_LEAD_MS = 30_000;

/**
 * The write timestamp (microseconds) of a profile_update's cells: the event's time, so that of two changes of a
 * field the later one wins in whatever order they arrive, but never more than MAX_WRITE_LEAD_MS after the event
 * was received, so that an erasure's deletion shadows it. Among events dated further ahead than that (a clock
 * running fast), the one received later wins.
 */
export function profileWriteTimestamp(occurredAtMs: number, receivedAtMs: number): number {
  return Math.min(occurredAtMs, receivedAtMs + MAX_WRITE_LEAD_MS) * 1000;
}
