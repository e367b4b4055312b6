import { JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { createInbox, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

interface Pending {
  resolve(ack: PubAck): void;
  reject(error: Error): void;
  /** epoch milliseconds after which the publish is failed as unanswered */
  deadline: number;
}

export class PubAckTimeoutError extends Error {
  override readonly name = 'PubAckTimeoutError';
}

const decoder = new TextDecoder();

/**
 * JetStream publishing with one reply subscription for every acknowledgement.
 *
 * Why not `js.publish()`: nats.js makes each publish a request of its own — a request object, a timer, a
 * Promise.race and, on every success, a cancellation Error with a stack trace. On the ingestion hot path
 * that was ~20 % of the CPU per event. Here a publish is one map entry and one message with a reply
 * subject (`<inbox>.<n>`); a single wildcard subscription settles the entries, and one coarse timer fails
 * the ones left unanswered. The semantics are JetStream's: the PubAck says stored (or duplicate), an error
 * reply or no answer means not acknowledged.
 */
export class PubAckInbox {
  /** under the connection's inbox prefix: the subjects its NATS identity may read */
  private readonly prefix: string;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private readonly subscription: Subscription;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    /** milliseconds to wait for the stream's acknowledgement; @default 5_000 */
    private readonly timeoutMs = 5_000,
  ) {
    // The connection's options are not in NatsConnection's type; JetStream's own consumers read them the same way.
    const options = (nc as NatsConnection & { options?: { inboxPrefix?: string } }).options;
    this.prefix = `${createInbox(options?.inboxPrefix)}.`;
    this.subscription = nc.subscribe(`${this.prefix}*`, {
      callback: (error, msg) => (error ? undefined : this.settle(msg.subject, msg.data, msg.headers)),
    });
    void this.subscription.closed.then(() =>
      this.failAll(new Error('connection closed before the stream answered')),
    );
    // Coarse on purpose: a deadline is a bound on waiting, not a precise clock.
    this.sweeper = setInterval(() => this.expire(Date.now()), Math.min(250, this.timeoutMs)).unref();
  }

  /** Publishes; resolves with the PubAck once the stream stored it, rejects on an error reply or none in time. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs, timeoutMs = this.timeoutMs): Promise<PubAck> {
    const token = ++this.next;
    return new Promise<PubAck>((resolve, reject) => {
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}${token}`, headers });
      } catch (error) {
        return reject(error instanceof Error ? error : new Error(String(error)));
      }
      this.pending.set(token, { resolve, reject, deadline: Date.now() + timeoutMs });
    });
  }

  /** Publishes waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.subscription.unsubscribe();
    this.failAll(new Error('publisher closed before the stream answered'));
  }

  private settle(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    const token = Number(subject.slice(this.prefix.length));
    const entry = this.pending.get(token);
    if (!entry) return; // answered after its deadline: already failed, and the sender told to retry
    this.pending.delete(token);
    if (headers?.code === 503)
      return entry.reject(new Error(`no stream answered for this subject (no responders)`));
    try {
      const reply = JSON.parse(decoder.decode(data)) as PubAck & {
        error?: { code: number; err_code?: number; description: string };
      };
      if (reply.error)
        return entry.reject(
          new JetStreamApiError({
            code: reply.error.code,
            err_code: reply.error.err_code ?? 0,
            description: reply.error.description,
          }),
        );
      if (!reply.stream) return entry.reject(new Error('invalid acknowledgement from the stream'));
      reply.duplicate = reply.duplicate ?? false;
      entry.resolve(reply);
    } catch (error) {
      entry.reject(error as Error);
    }
  }

  private expire(now: number): void {
    for (const [token, entry] of this.pending) {
      if (entry.deadline > now) continue;
      this.pending.delete(token);
      entry.reject(new PubAckTimeoutError('the stream did not acknowledge in time'));
    }
  }

  private failAll(error: Error): void {
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}
