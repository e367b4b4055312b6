import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { StoredMessage } from './messaging-session.js';

/**
 * Read-only, bounded reads of a stream for pages that refresh (the console): message counts by subject from
 * the stream's state (one request), and the newest messages by direct reads backwards from the last sequence.
 */
export class StreamReader {
  private jsm?: Promise<JetStreamManager>;

  constructor(private readonly nc: NatsConnection) {}

  /** messages stored per subject matching the filter */
  async subjectCounts(stream: string, filter: string): Promise<Record<string, number>> {
    const info = await (await this.manager()).streams.info(stream, { subjects_filter: filter });
    return { ...(info.state.subjects ?? {}) };
  }

  /** Newest first, at most `maxScan` messages read (deleted sequences count as read). */
  async *newestFirst(stream: string, maxScan: number): AsyncIterable<StoredMessage> {
    const jsm = await this.manager();
    const { state } = await jsm.streams.info(stream);
    let scanned = 0;
    for (let seq = state.last_seq; seq >= state.first_seq && seq > 0 && scanned < maxScan; seq--) {
      scanned++;
      const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!msg) continue;
      const headers = msg.header;
      yield {
        seq: msg.seq,
        subject: msg.subject,
        data: msg.data,
        storedAtMs: msg.time.getTime(),
        header: (name) => (headers?.has(name) ? headers.get(name) : undefined),
      };
    }
  }

  private manager(): Promise<JetStreamManager> {
    return (this.jsm ??= jetstreamManager(this.nc));
  }
}
