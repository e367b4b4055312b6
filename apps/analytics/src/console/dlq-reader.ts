import { Inject, Injectable } from '@nestjs/common';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Headers, Streams, Subjects } from '@nunchi/contracts';
import { NATS_CONNECTION } from '@nunchi/messaging';

/** One rejected input as the console shows it (`nunchi dlq list` shows the same, bytes in full). */
export interface DlqEntryView {
  /** DLQ stream sequence (`nunchi dlq replay --seq`) */
  seq: number;
  stage: string;
  /** where it came in: mkt.in.<channel>.<type>, POST /v1/events, or a stream subject of a later stage */
  subject: string;
  reason: string;
  /** ISO-8601 */
  at: string;
  /** bytes kept */
  size: number;
  /** the first bytes as UTF-8 text (PREVIEW_BYTES at most) */
  preview: string;
  /** the DLQ sequence this entry is a failed replay of */
  replayOf?: number;
}

/** entries read back at most per listing: a listing costs a bounded number of reads, however big the DLQ */
export const MAX_SCAN = 2_000;
const PREVIEW_BYTES = 600;
const STAGES = ['ingestion', 'context', 'decision', 'analytics'];

/**
 * Reads the DLQ stream for the console, read-only: counts by stage from the stream's subject totals (one
 * request), and the newest entries by direct reads backwards from the last sequence. (`nunchi dlq list`
 * reads the whole stream with a consumer; this stays bounded for a page that refreshes.)
 */
@Injectable()
export class DlqReader {
  private jsm?: Promise<JetStreamManager>;

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  /** entries by stage, replay markers left out */
  async counts(): Promise<Record<string, number>> {
    const info = await (
      await this.manager()
    ).streams.info(Streams.DLQ.name, { subjects_filter: Subjects.dlqAll });
    const counts: Record<string, number> = {};
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      if (subject === Subjects.dlqReplayed) continue;
      const stage = subject.split('.').slice(2).join('.');
      counts[stage] = (counts[stage] ?? 0) + n;
    }
    return counts;
  }

  /** The newest `limit` entries (newest first), of one stage or all, among the last MAX_SCAN of the stream. */
  async newest(options: {
    stage?: string;
    limit: number;
  }): Promise<{ entries: DlqEntryView[]; scanned: number }> {
    const jsm = await this.manager();
    const { state } = await jsm.streams.info(Streams.DLQ.name);
    const entries: DlqEntryView[] = [];
    let scanned = 0;
    for (
      let seq = state.last_seq;
      seq >= state.first_seq && seq > 0 && scanned < MAX_SCAN && entries.length < options.limit;
      seq--
    ) {
      scanned++;
      const msg = await jsm.streams.getMessage(Streams.DLQ.name, { seq }).catch(() => null);
      if (!msg || msg.subject === Subjects.dlqReplayed) continue;
      const stage = msg.subject.split('.').slice(2).join('.');
      if (options.stage && stage !== options.stage) continue;
      const header = (name: string) => (msg.header?.has(name) ? msg.header.get(name) : undefined);
      const replayOf = header(Headers.dlqReplayOf);
      entries.push({
        seq: msg.seq,
        stage,
        subject: header(Headers.dlqSubject) ?? '',
        reason: header(Headers.dlqReason) ?? '',
        at: header(Headers.dlqAt) ?? msg.time.toISOString(),
        size: msg.data.length,
        preview: Buffer.from(msg.data.subarray(0, PREVIEW_BYTES)).toString('utf8'),
        ...(replayOf ? { replayOf: Number(replayOf) } : {}),
      });
    }
    return { entries, scanned };
  }

  static isStage(stage: string): boolean {
    return STAGES.includes(stage);
  }

  private manager(): Promise<JetStreamManager> {
    return (this.jsm ??= jetstreamManager(this.nc));
  }
}
