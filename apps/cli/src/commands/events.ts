import { isSubjectToken, Subjects } from '@nunchi/contracts/core';
import { lastValueFrom } from 'rxjs';
import type { Resources } from '../resources.js';
import { readNdjson } from '../ndjson.js';
import { forEachBounded } from '@nunchi/operations';
import { progress } from '../progress.js';

export interface SendReport {
  accepted: number;
  duplicates: number;
  rejected: Array<{ line: number; id?: string; code: string; details: string }>;
  seconds: number;
}

/** requests in flight while sending */
const SEND_CONCURRENCY = 64;

/** Sends events through the NATS door (request on mkt.in.<channel>.<type>), in file order per customer. */
export async function sendEvents(
  resources: Resources,
  events: Array<{ line: number; value?: unknown; error?: string }>,
  options: { quiet?: boolean } = {},
): Promise<SendReport> {
  const { client } = await resources.messaging();
  const bar = options.quiet
    ? { tick: () => undefined, stop: () => undefined }
    : progress('events', events.length);
  const report: SendReport = { accepted: 0, duplicates: 0, rejected: [], seconds: 0 };
  const started = Date.now();
  await forEachBounded(events, SEND_CONCURRENCY, async (item) => {
    try {
      const body = item.value as { channel?: unknown; type?: unknown; id?: string } | undefined;
      if (
        item.error ||
        !body ||
        typeof body.channel !== 'string' ||
        typeof body.type !== 'string' ||
        !isSubjectToken(body.channel) ||
        !isSubjectToken(body.type)
      ) {
        report.rejected.push({
          line: item.line,
          code: 'NOT_SENT',
          details: item.error ?? 'needs string "channel" and "type" to choose the subject',
        });
        return;
      }
      const reply = await lastValueFrom(client.send(Subjects.inbound(body.channel, body.type), body));
      if (reply.ok) {
        report.accepted++;
        if (reply.duplicate) report.duplicates++;
      } else {
        report.rejected.push({
          line: item.line,
          id: reply.id,
          code: reply.error.code,
          details:
            reply.error.details.map((d) => `${d.path || '(root)'}: ${d.message}`).join('; ') ||
            (reply.error.message ?? ''),
        });
      }
    } catch (error) {
      report.rejected.push({
        line: item.line,
        code: 'NO_ANSWER',
        details: `${(error as Error).message} (is the ingestion service running?)`,
      });
    } finally {
      bar.tick();
    }
  });
  bar.stop();
  report.seconds = (Date.now() - started) / 1000;
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}

export async function sendEventsFile(
  resources: Resources,
  file: string,
  options: { quiet?: boolean } = {},
): Promise<SendReport> {
  return sendEvents(resources, await readNdjson(file), options);
}
