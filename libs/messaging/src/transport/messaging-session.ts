import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '@nunchi/config';
import { connectNats } from '../connection.js';
import { Publisher } from '../publisher.js';
import { NatsClient, type MessageClient } from './nats-client.js';

/** A message as a stream stores it. */
export interface StoredMessage {
  /** stream sequence */
  seq: number;
  subject: string;
  data: Uint8Array;
  /** epoch milliseconds the stream stored it */
  storedAtMs: number;
  header(name: string): string | undefined;
}

/** A message received on a core subject. */
export interface ReceivedMessage {
  subject: string;
  data: Uint8Array;
}

/**
 * Messaging for a process outside Nest (the CLI): the typed client, reading a stream's stored messages and
 * following a subject, over one connection.
 */
export class MessagingSession {
  readonly client: MessageClient;

  private constructor(readonly nc: NatsConnection) {
    this.client = new NatsClient(nc, new Publisher(nc));
  }

  static async open(config: NatsConfig, name: string): Promise<MessagingSession> {
    // The streams are the migration step's (`nunchi migrate`, `nunchi streams apply`): a command only uses them.
    return new MessagingSession(await connectNats(config, name));
  }

  /** Every message of the stream on the filter subject, oldest first (an ephemeral ordered consumer). */
  async readStream(stream: string, filter: string): Promise<StoredMessage[]> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(stream, { subjects_filter: filter });
    const expected = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (expected === 0) return [];
    const consumer = await jetstream(this.nc).consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume();
    const out: StoredMessage[] = [];
    for await (const msg of messages) {
      const headers = msg.headers;
      out.push({
        seq: msg.seq,
        subject: msg.subject,
        data: msg.data,
        storedAtMs: msg.info.timestampNanos / 1e6,
        header: (name) => (headers?.has(name) ? headers.get(name) : undefined),
      });
      if (msg.info.pending === 0) break;
    }
    await messages.close();
    return out;
  }

  /** Messages on a core subject (wildcards allowed) as they arrive; ends after `max` when given. */
  async *follow(subject: string, options: { max?: number } = {}): AsyncIterable<ReceivedMessage> {
    const subscription = this.nc.subscribe(subject, options.max ? { max: options.max } : {});
    for await (const msg of subscription) yield { subject: msg.subject, data: msg.data };
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
