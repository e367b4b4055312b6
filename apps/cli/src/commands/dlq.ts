import {
  Headers,
  isSubjectToken,
  Streams,
  Subjects,
  type DlqStage,
  type IngestReply,
} from '@nunchi/contracts/core';
import type { DeadLetteredEvent, SealedAcceptedEvent } from '@nunchi/contracts';
import { CustomerKeyRepository, CustomerKeyring } from '@nunchi/cassandra';
import { identityKeys, requireIdentityKey } from '@nunchi/config';
import {
  decodeJson,
  hasSealedValues,
  MessageRecord,
  UnsealError,
  unsealPersonalData,
  type MessagingSession,
  type StoredMessage,
} from '@nunchi/messaging';
import { lastValueFrom } from 'rxjs';
import type { Resources } from '../resources.js';

/** One rejected input, as the DLQ stream keeps it. */
export interface DlqEntry {
  /** DLQ stream sequence: the entry's name in `dlq replay --seq` */
  seq: number;
  stage: string;
  /** where it came in: mkt.in.<channel>.<type>, POST /v1/events, or a stream subject for later stages */
  subject: string;
  reason: string;
  /** ISO-8601 instant of the rejection */
  at: string;
  /**
   * the bytes as received, personal data sealed (`sealed` names the fields; `dlq replay` opens them), empty
   * when they were never read (a body over the size limit)
   */
  data: Uint8Array;
  /** paths of the personal data sealed in `data` (customer.phone, …) */
  sealed?: string[];
  /** set on the record of a replay that was rejected again: the DLQ sequence that was replayed */
  replayOf?: number;
  /** set when `dlq replay` got this entry accepted */
  replayed?: ReplayMarker;
}

/** What `dlq replay` records on mkt.dlq.replayed when an entry is accepted, so it is never replayed twice. */
export interface ReplayMarker {
  seq: number;
  id: string;
  customerId: string;
  duplicate: boolean;
  /** ISO-8601 */
  at: string;
}

export type ReplayOutcome = 'accepted' | 'rejected' | 'skipped' | 'no-answer';

export interface ReplayResult {
  seq: number;
  subject: string;
  outcome: ReplayOutcome;
  detail: string;
}

/** The newest `limit` entries (oldest first), of one stage or all, with their replay status. */
export async function listDlq(
  resources: Resources,
  options: { stage?: string; limit?: number } = {},
): Promise<DlqEntry[]> {
  const messaging = await resources.messaging();
  const limit = options.limit ?? 20;
  const markers = await readReplayMarkers(messaging);
  const entries: DlqEntry[] = [];
  for (const msg of await messaging.readStream(
    Streams.DLQ.name,
    options.stage ? Subjects.dlq(stageOf(options.stage)) : Subjects.dlqAll,
  )) {
    if (msg.subject === Subjects.dlqReplayed) continue;
    entries.push(entryOf(msg, markers));
    if (entries.length > limit) entries.shift();
  }
  return entries;
}

/**
 * Replays a stage's entries, in DLQ order, after a fix, and reports each outcome:
 * - ingestion: sent through the NATS door again (validated, deduplicated, identity resolved anew);
 * - context, decision: accepted events a later stage refused (or, before outages were waited out, gave up
 *   on): published again on the stage's input stream (EVENTS, ENRICHED), on the subject they were refused
 *   on, marked as a replay so the handler treats them as a possible repeat (its effects are idempotent).
 * An accepted entry gets a marker on mkt.dlq.replayed (msgID dlq-replayed:<seq>), and entries with a marker
 * are skipped: one entry is never accepted twice. An ingestion entry rejected again is kept once more by
 * ingestion, marked as a replay of this one.
 */
export async function replayDlq(
  resources: Resources,
  options: { stage?: string; seq?: number; timeoutMs?: number } = {},
): Promise<ReplayResult[]> {
  const stage = stageOf(options.stage ?? 'ingestion');
  if (stage === 'analytics')
    throw new Error(
      'analytics entries are not replayed: analytics rebuilds its figures from EVENTS and DECISIONS at every start',
    );
  const messaging = await resources.messaging();
  const markers = await readReplayMarkers(messaging);
  const results: ReplayResult[] = [];
  // customers' data keys, for context entries: one keyring for the whole replay (its cache spans entries)
  let keys: CustomerKeyring | undefined;
  const keyring = async () => {
    requireIdentityKey(resources.config); // no key at all: stop here, naming the variable
    keys ??= new CustomerKeyring(
      new CustomerKeyRepository(await resources.cassandra()),
      identityKeys(resources.config),
      { maxEntries: 1_000 },
    );
    return keys;
  };
  const entries = (await messaging.readStream(Streams.DLQ.name, Subjects.dlq(stage)))
    .map((m) => entryOf(m, markers))
    .filter((e) => options.seq === undefined || e.seq === options.seq);
  if (options.seq !== undefined && entries.length === 0)
    throw new Error(`no ${stage}-stage DLQ entry has sequence ${options.seq}`);

  for (const entry of entries) {
    const skip = (detail: string) =>
      results.push({ seq: entry.seq, subject: entry.subject, outcome: 'skipped', detail });
    if (entry.replayed) {
      skip(
        `already replayed: accepted at ${entry.replayed.at} as ${entry.replayed.id} (${entry.replayed.customerId})`,
      );
      continue;
    }
    if (entry.replayOf !== undefined) {
      skip(`the record of a failed replay of #${entry.replayOf}; replay #${entry.replayOf} itself`);
      continue;
    }
    const subject = stage === 'ingestion' ? doorSubjectOf(entry) : streamSubjectOf(entry, stage);
    if (typeof subject !== 'string') {
      skip(subject.why);
      continue;
    }
    let data = entry.data;
    if (stage === 'context') {
      const opened = await checkDeadLettered(keyring, data);
      if ('why' in opened) {
        skip(opened.why);
        continue;
      }
      data = opened.data;
    } else if (entry.sealed?.length || hasSealedValues(data)) {
      requireIdentityKey(resources.config); // no key at all: stop here, naming the variable
      try {
        data = unsealPersonalData(data, identityKeys(resources.config));
      } catch (error) {
        if (!(error instanceof UnsealError)) throw error;
        skip(`its personal data cannot be opened: ${error.message}`);
        continue;
      }
    }
    const result =
      stage === 'ingestion'
        ? await throughDoor(messaging, entry, subject as `mkt.in.${string}`, data, options.timeoutMs)
        : await ontoStream(messaging, entry, stage, subject, data, options.timeoutMs);
    if ('outcome' in result) {
      results.push({ seq: entry.seq, subject, ...result });
      continue;
    }
    const marker: ReplayMarker = { seq: entry.seq, ...result, at: new Date().toISOString() };
    await lastValueFrom(
      messaging.client.emit(
        Subjects.dlqReplayed,
        new MessageRecord(marker, { msgID: `dlq-replayed:${entry.seq}` }),
      ),
    );
    results.push({
      seq: entry.seq,
      subject,
      outcome: 'accepted',
      detail: `${result.id} → ${result.customerId}${result.duplicate ? ' (already stored before: duplicate)' : ''}`,
    });
  }
  return results;
}

/**
 * A context entry (DeadLetteredEvent) as EVENTS carries it — sealed, as it is, once its payload was found to
 * open with the customer's data key; or why it cannot be replayed. An entry from before sealing is returned as
 * it is.
 */
async function checkDeadLettered(
  keyringOf: () => Promise<CustomerKeyring>,
  data: Uint8Array,
): Promise<{ data: Uint8Array } | { why: string }> {
  let entry: DeadLetteredEvent;
  try {
    entry = decodeJson(data) as DeadLetteredEvent;
  } catch {
    return { data }; // ontoStream says what it is
  }
  if (entry?.payloadDropped)
    return {
      why: `customer ${entry.customerId} was erased: the event's payload was not kept, and it is refused for ever`,
    };
  if (!entry?.sealedPayload) return { data };
  const opened = await (await keyringOf()).openEvent(entry as SealedAcceptedEvent);
  if (opened.kind !== 'opened') return { why: opened.why };
  return { data };
}

type Accepted = Pick<ReplayMarker, 'id' | 'customerId' | 'duplicate'>;
type NotAccepted = { outcome: Exclude<ReplayOutcome, 'accepted'>; detail: string };

/** An ingestion entry through the NATS door, as an adapter would send it. */
async function throughDoor(
  messaging: MessagingSession,
  entry: DlqEntry,
  subject: `mkt.in.${string}`,
  data: Uint8Array,
  timeoutMs = 10_000,
): Promise<Accepted | NotAccepted> {
  let reply: IngestReply;
  try {
    reply = await lastValueFrom(
      messaging.client.send(
        subject,
        new MessageRecord(data, { headers: { [Headers.dlqReplayOf]: String(entry.seq) }, timeoutMs }),
      ),
    );
  } catch (error) {
    return {
      outcome: 'no-answer',
      detail: `${(error as Error).message} (is the ingestion service running?)`,
    };
  }
  if (!reply.ok) {
    const details = reply.error.details.map((d) => `${d.path || '(root)'}: ${d.message}`).join('; ');
    return { outcome: 'rejected', detail: `${reply.error.code}${details ? `: ${details}` : ''}` };
  }
  return { id: reply.id, customerId: reply.customerId, duplicate: reply.duplicate ?? false };
}

/**
 * A context or decision entry back onto the stage's input stream. Deduplicated on the DLQ sequence (a
 * replay interrupted and run again within the stream's window publishes once), not on the event id: the
 * original is inside that window when the entry is recent, and would swallow the replay.
 */
async function ontoStream(
  messaging: MessagingSession,
  entry: DlqEntry,
  stage: DlqStage,
  subject: string,
  data: Uint8Array,
  timeoutMs = 10_000,
): Promise<Accepted | NotAccepted> {
  let body: { id?: unknown; customerId?: unknown; event?: { id?: unknown; customerId?: unknown } };
  try {
    body = decodeJson(data) as typeof body;
  } catch {
    return { outcome: 'skipped', detail: 'not JSON: it never was an accepted event' };
  }
  const event = stage === 'decision' ? body?.event : body;
  if (typeof event?.id !== 'string' || typeof event.customerId !== 'string')
    return {
      outcome: 'skipped',
      detail: `not an ${stage === 'decision' ? 'EnrichedEvent' : 'AcceptedEvent'}`,
    };
  try {
    const ack = await lastValueFrom(
      messaging.client.emit(
        subject,
        // The bytes as stored, sent as they are (not re-encoded): typed as the subject's payload.
        new MessageRecord(data as never, {
          msgID: `dlq-replay:${entry.seq}`,
          headers: { [Headers.dlqReplayOf]: String(entry.seq) },
          timeoutMs,
        }),
      ),
    );
    return { id: event.id, customerId: event.customerId, duplicate: ack?.duplicate ?? false };
  } catch (error) {
    return { outcome: 'no-answer', detail: `the stream did not store it: ${(error as Error).message}` };
  }
}

/** The input stream subject a context or decision entry was refused on (kept in its Nunchi-Dlq-Subject). */
function streamSubjectOf(entry: DlqEntry, stage: DlqStage): string | { why: string } {
  const input = stage === 'context' ? /^mkt\.events\.\d+\.[A-Za-z0-9_-]+$/ : /^mkt\.enriched\.\d+$/;
  if (!input.test(entry.subject))
    return {
      why: `refused on ${entry.subject || '(no subject)'}, not on the ${stage} stage's input stream: nothing to replay it onto`,
    };
  return entry.subject;
}

/** mkt.in.<channel>.<type> to send an entry to, or why it cannot be replayed. */
function doorSubjectOf(entry: DlqEntry): `mkt.in.${string}` | { why: string } {
  const [mkt, door, channel, type, ...rest] = entry.subject.split('.');
  if (
    mkt === 'mkt' &&
    door === 'in' &&
    channel &&
    type &&
    rest.length === 0 &&
    isSubjectToken(channel) &&
    isSubjectToken(type)
  )
    return Subjects.inbound(channel, type);
  if (entry.data.length === 0)
    return { why: 'no bytes were kept (a body over the size limit): have the sender send it again' };
  let body: unknown;
  try {
    body = decodeJson(entry.data);
  } catch {
    return { why: 'not JSON: nothing to replay until the sender fixes it' };
  }
  const event = body as { channel?: unknown; type?: unknown } | null;
  if (Array.isArray(body)) return { why: 'a whole batch: send its events with `nunchi events send`' };
  if (
    !event ||
    typeof event.channel !== 'string' ||
    typeof event.type !== 'string' ||
    !isSubjectToken(event.channel) ||
    !isSubjectToken(event.type)
  ) {
    return { why: 'no valid "channel" and "type" to choose a subject from' };
  }
  return Subjects.inbound(event.channel, event.type);
}

function stageOf(stage: string): DlqStage {
  const stages: DlqStage[] = ['ingestion', 'context', 'decision', 'analytics'];
  if (!stages.includes(stage as DlqStage))
    throw new Error(`unknown stage "${stage}": one of ${stages.join(', ')}`);
  return stage as DlqStage;
}

function entryOf(msg: StoredMessage, markers: Map<number, ReplayMarker>): DlqEntry {
  const header = msg.header;
  const replayOf = header(Headers.dlqReplayOf);
  const sealed = header(Headers.dlqSealed);
  const replayed = markers.get(msg.seq);
  return {
    seq: msg.seq,
    stage: msg.subject.split('.').slice(2).join('.'),
    subject: header(Headers.dlqSubject) ?? '',
    reason: header(Headers.dlqReason) ?? '',
    at: header(Headers.dlqAt) ?? new Date(msg.storedAtMs).toISOString(),
    data: msg.data,
    ...(replayOf ? { replayOf: Number(replayOf) } : {}),
    ...(sealed ? { sealed: sealed.split(',') } : {}),
    ...(replayed ? { replayed } : {}),
  };
}

async function readReplayMarkers(messaging: MessagingSession): Promise<Map<number, ReplayMarker>> {
  const markers = new Map<number, ReplayMarker>();
  for (const msg of await messaging.readStream(Streams.DLQ.name, Subjects.dlqReplayed)) {
    try {
      const marker = decodeJson(msg.data) as ReplayMarker;
      markers.set(marker.seq, marker);
    } catch {
      // a marker that is not ours: ignore it
    }
  }
  return markers;
}

/** The first bytes of an entry, printable: for a listing. */
export function preview(data: Uint8Array, max = 100): string {
  const text = Buffer.from(data.subarray(0, max * 4)).toString('utf8');
  const shown = text.replace(/[^\x20-\x7e]/g, (c) =>
    c === '\uFFFD' ? '\\ufffd' : JSON.stringify(c).slice(1, -1),
  );
  return shown.length > max ? `${shown.slice(0, max)}…` : shown + (data.length > max * 4 ? '…' : '');
}
