import { Injectable } from '@nestjs/common';
import { Headers, Streams, Subjects } from '@nunchi/contracts/core';
import { StreamReader } from '@nunchi/messaging';

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
  constructor(private readonly stream: StreamReader) {}

  /** entries by stage, replay markers left out */
  async counts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [subject, n] of Object.entries(
      await this.stream.subjectCounts(Streams.DLQ.name, Subjects.dlqAll),
    )) {
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
    const entries: DlqEntryView[] = [];
    let scanned = 0;
    for await (const msg of this.stream.newestFirst(Streams.DLQ.name, MAX_SCAN)) {
      scanned++;
      if (msg.subject === Subjects.dlqReplayed) continue;
      const stage = msg.subject.split('.').slice(2).join('.');
      if (options.stage && stage !== options.stage) continue;
      const replayOf = msg.header(Headers.dlqReplayOf);
      entries.push({
        seq: msg.seq,
        stage,
        subject: msg.header(Headers.dlqSubject) ?? '',
        reason: msg.header(Headers.dlqReason) ?? '',
        at: msg.header(Headers.dlqAt) ?? new Date(msg.storedAtMs).toISOString(),
        size: msg.data.length,
        preview: Buffer.from(msg.data.subarray(0, PREVIEW_BYTES)).toString('utf8'),
        ...(replayOf ? { replayOf: Number(replayOf) } : {}),
      });
      if (entries.length >= options.limit) break;
    }
    return { entries, scanned };
  }

  static isStage(stage: string): boolean {
    return STAGES.includes(stage);
  }
}
