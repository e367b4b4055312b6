/**
 * Every NATS subject and JetStream stream Nunchi uses, in one place.
 * Apps never write a raw subject string: they call these builders.
 */

/** Tokens may not contain NATS wildcards, separators or whitespace. */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export function isSubjectToken(value: string): boolean {
  return SUBJECT_TOKEN.test(value);
}

function token(value: string, what: string): string {
  if (!SUBJECT_TOKEN.test(value))
    throw new Error(`${what} "${value}" is not a valid subject token ([A-Za-z0-9_-]{1,64})`);
  return value;
}

export const Subjects = {
  /** Channel adapters publish or request here: mkt.in.<channel>.<type>. */
  inbound: (channel: string, type: string): `mkt.in.${string}` =>
    `mkt.in.${token(channel, 'channel')}.${token(type, 'type')}`,
  inboundAll: 'mkt.in.>',
  /** Accepted events, partitioned by customer: mkt.events.<partition>.<type>. */
  event: (partition: number, type: string): `mkt.events.${string}` =>
    `mkt.events.${partition}.${token(type, 'type')}`,
  eventsAll: 'mkt.events.>',
  eventsOfPartition: (partition: number) => `mkt.events.${partition}.>`,
  /** Events with the customer's context snapshot: mkt.enriched.<partition>. */
  enriched: (partition: number): `mkt.enriched.${number}` => `mkt.enriched.${partition}`,
  enrichedAll: 'mkt.enriched.>',
  /** Offers for adapters: mkt.offers.<channel>.<storeId> (storeId "none" when the event had none). */
  offer: (channel: string, storeId: string | undefined): `mkt.offers.${string}` =>
    `mkt.offers.${token(channel, 'channel')}.${storeId ? token(storeId, 'storeId') : 'none'}`,
  /** Offers for one web or app session: mkt.offers.<channel>.session.<sessionId> (one token more than a store's). */
  offerToSession: (channel: string, sessionId: string): `mkt.offers.${string}` =>
    `mkt.offers.${token(channel, 'channel')}.session.${token(sessionId, 'sessionId')}`,
  /** Where a decision's offer goes: its session when the event had one, else its channel and store. */
  offerTo: (d: { channel: string; storeId?: string; sessionId?: string }): `mkt.offers.${string}` =>
    d.sessionId ? Subjects.offerToSession(d.channel, d.sessionId) : Subjects.offer(d.channel, d.storeId),
  offersAll: 'mkt.offers.>',
  /** Every decision, offer or not: mkt.decisions.<campaignId>. */
  decision: (campaignId: string): `mkt.decisions.${string}` =>
    `mkt.decisions.${token(campaignId, 'campaignId')}`,
  decisionsAll: 'mkt.decisions.>',
  /** Rejected input: mkt.dlq.<stage>. */
  dlq: (stage: DlqStage): `mkt.dlq.${DlqStage}` => `mkt.dlq.${stage}`,
  dlqAll: 'mkt.dlq.>',
  /** On DLQ: one marker per DLQ entry that `nunchi dlq replay` got accepted, so it is not replayed twice. */
  dlqReplayed: 'mkt.dlq.replayed',
  /** Campaign set changed: decision replicas reload. Core NATS, a hint only (the source of truth is Cassandra). */
  campaignsChanged: 'mkt.ctl.campaigns.changed',
  /** Profiles changed outside the event flow (import, erasure): context replicas drop them from the hot tier. Core NATS. */
  customersChanged: 'mkt.ctl.customers.changed',
  /**
   * How far behind each partition's consumer is, reported by the context and decision replicas every 500 ms
   * (core NATS, LagReport): ingestion's admission control reads it. mkt.ctl.lag.<group>.
   */
  lag: (group: string): `mkt.ctl.lag.${string}` => `mkt.ctl.lag.${token(group, 'group')}`,
  lagAll: 'mkt.ctl.lag.>',
  /**
   * A consumer found its stream's history rewound or rewritten: every process consuming that stream replays
   * it by time (ConsumerRunner; docs/reliability.md). Core NATS, a hint: mkt.ctl.rewound.<stream>.
   */
  streamRewound: (stream: string): `mkt.ctl.rewound.${string}` =>
    `mkt.ctl.rewound.${token(stream, 'stream')}`,
  /** Request/reply: read a customer's context snapshot. */
  contextGet: 'mkt.rpc.context.get',
  /** Partition leases and member heartbeats of consumer groups (context, decision): mkt.lease.<group>.<kind>.<id>. */
  lease: (key: string) =>
    `mkt.lease.${key
      .split('.')
      .map((k) => token(k, 'lease key token'))
      .join('.')}`,
  leasesAll: 'mkt.lease.>',
} as const;

/** What a replica reports on Subjects.lag(group): its partitions' consumers and how far behind they are. */
export interface LagReport {
  group: string;
  /** the reporting replica */
  member: string;
  /** epoch milliseconds of the report */
  atMs: number;
  partitions: Array<{
    partition: number;
    /** milliseconds since the oldest message it holds unacknowledged was stored; 0 when it holds none */
    oldestAgeMs: number;
    /** messages stored and not yet acknowledged (polled every 5 s) */
    pending: number;
  }>;
}

export type DlqStage = 'ingestion' | 'context' | 'decision' | 'analytics';

export const Streams = {
  EVENTS: { name: 'EVENTS', subjects: [Subjects.eventsAll] },
  ENRICHED: { name: 'ENRICHED', subjects: [Subjects.enrichedAll] },
  DECISIONS: { name: 'DECISIONS', subjects: [Subjects.decisionsAll] },
  DLQ: { name: 'DLQ', subjects: [Subjects.dlqAll] },
  /** One message per lease key (the latest): partition ownership by compare-and-set on the subject's sequence. */
  LEASES: { name: 'LEASES', subjects: [Subjects.leasesAll] },
} as const;

export type StreamName = keyof typeof Streams;

/** Message header names Nunchi sets besides W3C trace context. */
export const Headers = {
  /** Epoch milliseconds at which ingestion accepted the event: the start of the event-to-offer clock. */
  receivedAt: 'Nunchi-Received-At',
  dlqReason: 'Nunchi-Dlq-Reason',
  dlqSubject: 'Nunchi-Dlq-Subject',
  /** ISO-8601 instant the input was rejected */
  dlqAt: 'Nunchi-Dlq-At',
  /** on a request sent by `nunchi dlq replay`, and on the DLQ record of a replay rejected again: the DLQ sequence replayed */
  dlqReplayOf: 'Nunchi-Dlq-Replay-Of',
  /** on a DLQ entry whose personal data was sealed (libs/messaging personal-data.ts): the paths sealed, comma-separated */
  dlqSealed: 'Nunchi-Dlq-Sealed',
  /**
   * on an ENRICHED message context published again for an event it had already applied (a redelivery it could
   * not tell from a first delivery, or a sender's retry past the dedupe window): consumers treat it as a
   * redelivery (decision: a decision already recorded is not made again)
   */
  repeat: 'Nunchi-Repeat',
} as const;
