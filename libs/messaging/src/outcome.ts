/**
 * What a handler decided about one message. The consumer runner, not the handler, acks:
 * done → ack, retry → nak(delay), reject → term + DLQ.
 */
export type Outcome =
  { kind: 'done' } | { kind: 'retry'; delayMs: number; reason: string } | { kind: 'reject'; reason: string };

export const Outcome = {
  done: (): Outcome => ({ kind: 'done' }),
  /** delayMs: milliseconds before redelivery */
  retry: (delayMs: number, reason: string): Outcome => ({ kind: 'retry', delayMs, reason }),
  reject: (reason: string): Outcome => ({ kind: 'reject', reason }),
} as const;
