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

/** The message a consumer handled last (highest stream sequence): what its stream must still hold there. */
export interface HandledMark {
  seq: number;
  /** its Nats-Msg-Id, when it had one (every publisher of EVENTS and ENRICHED sets one) */
  msgId: string | undefined;
  /** epoch ms it was stored */
  storedAtMs: number;
}

/**
 * Whether the stream now holds another message at the sequence a consumer handled last: its history was
 * rewritten under the consumer (nats-server 2.9.10 on a cluster, after a partition healed: messages stored
 * again under sequences the consumer had passed, below the stream's end, so the rewind check — delivered past
 * the end — does not see it; docs/reliability.md). Nothing there (removed by retention, or a history cut
 * shorter) is not a rewrite. Without message ids, store times more than a millisecond apart are.
 */
export function historyRewritten(
  mark: HandledMark,
  stored: { msgId: string | undefined; storedAtMs: number } | undefined,
): boolean {
  if (!stored) return false;
  if (mark.msgId !== undefined && stored.msgId !== undefined) return mark.msgId !== stored.msgId;
  // One side is parsed from an RFC 3339 string, the other from nanoseconds: a millisecond apart is the same.
  return Math.abs(mark.storedAtMs - stored.storedAtMs) > 1;
}

/**
 * Whether a JetStream API error says "nobody answered for this consumer" rather than "no such consumer" or "bad
 * request": a request timeout, or nats-server's 503 "JetStream system temporarily unavailable" — what a consumer
 * whose replica group has no leader gets (its server gone, or a group that never elects one again after a
 * partition, as nats-server 2.9.10 did: docs/reliability.md).
 */
export function isUnanswered(error: unknown): boolean {
  const e = error as { name?: string; message?: string; status?: unknown } | undefined;
  return (
    e?.name === 'TimeoutError' ||
    e?.status === 503 ||
    /timeout|temporarily unavailable|no responders/i.test(e?.message ?? '')
  );
}

/**
 * When each consumer's requests first went unanswered while its stream still answered (ConsumerRunner): past
 * a grace period the consumer is given up and created again, by position, on a replica group that answers.
 */
export class UnansweredConsumers {
  private readonly since = new Map<string, number>();

  constructor(
    /** milliseconds a consumer may go unanswered before it is recreated */
    readonly graceMs: number,
  ) {}

  /** Notes one more unanswered request; true once the consumer has been unanswered for the whole grace period. */
  overdue(durable: string, nowMs: number): boolean {
    const since = this.since.get(durable) ?? nowMs;
    this.since.set(durable, since);
    return nowMs - since >= this.graceMs;
  }

  /** epoch ms its requests first went unanswered, if they still do */
  unansweredSince(durable: string): number | undefined {
    return this.since.get(durable);
  }

  answered(durable: string): void {
    this.since.delete(durable);
  }
}

/**
 * At most one replay by time per key (a stream, a consumer) within an interval: a sick cluster can repeat the
 * same finding every few seconds (nats-server 2.9.10: a consumer reading a replica whose history differs from
 * the stream leader's delivers past the stream's end again right after each replay), and each replay reads
 * back minutes of the stream without changing that.
 */
export class ReplayInterval {
  readonly #last = new Map<string, number>();

  /** @param intervalMs milliseconds between two replays of one key */
  constructor(private readonly intervalMs: number) {}

  /** Whether `key` may be replayed at `nowMs` (epoch ms); if so, the replay is noted. */
  take(key: string, nowMs: number): boolean {
    if (nowMs - (this.#last.get(key) ?? -Infinity) < this.intervalMs) return false;
    this.#last.set(key, nowMs);
    return true;
  }

  /** epoch ms `key` may be replayed again from */
  nextAt(key: string): number {
    return (this.#last.get(key) ?? -Infinity) + this.intervalMs;
  }
}
