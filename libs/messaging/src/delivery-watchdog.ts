/**
 * A stored message an idle consumer should have delivered: its stream sequence, and the consumer's delivered
 * sequence when it was seen (ConsumerRunner's watchdog).
 */
export interface MissedDelivery {
  seq: number;
  delivered: number;
}

/**
 * Whether a consumer is stuck: the message it missed at the previous poll is still the next one on its subject
 * now, and it has delivered nothing since. One poll alone is not enough — a message stored just before the
 * poll is delivered a moment later by a healthy consumer.
 */
export function stuckSince(
  previous: MissedDelivery | undefined,
  nextSeq: number,
  delivered: number,
): boolean {
  return previous !== undefined && previous.seq === nextSeq && previous.delivered === delivered;
}
