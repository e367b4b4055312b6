import {
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, type StreamName } from '@nunchi/contracts/core';
import type { NatsConfig } from '@nunchi/config';

const DAY_NS = 86_400_000_000_000;
const msToNs = (ms: number) => ms * 1_000_000;

export class StreamLayoutError extends Error {
  override readonly name = 'StreamLayoutError';
}

/** The configured byte limit of each stream. */
const MAX_BYTES_KEY: Record<StreamName, keyof NatsConfig['streamMaxBytes']> = {
  EVENTS: 'events',
  ENRICHED: 'enriched',
  DECISIONS: 'decisions',
  DLQ: 'dlq',
  LEASES: 'leases',
};

/** The variable that sets a stream's byte limit, for messages. */
export const maxBytesVariable = (name: StreamName): string => `NUNCHI_STREAM_${name}_MAX_MIB`;

/**
 * Retention per stream: EVENTS is the durable record of accepted input until context has applied it.
 *
 * Every stream has a byte limit, which JetStream reserves on its disk at creation: a flood into one stream
 * cannot take the space of another. What happens at the limit protects accepted input: EVENTS and ENRICHED
 * discard *new* messages — ingestion's publish fails and the adapter is answered UNAVAILABLE_RETRY, context
 * retries — so an event that was answered ok is never dropped before it is applied. DECISIONS (also kept in
 * Cassandra), DLQ (the usual target of a flood of invalid input) and LEASES drop their oldest instead, so
 * that they never stop the pipeline.
 */
function configFor(name: StreamName, nats: NatsConfig): Partial<StreamConfig> {
  const base = {
    name: Streams[name].name,
    subjects: [...Streams[name].subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_bytes: nats.streamMaxBytes[MAX_BYTES_KEY[name]],
    num_replicas: nats.streamReplicas,
    duplicate_window: msToNs(nats.duplicateWindowMs),
  };
  switch (name) {
    case 'EVENTS':
      // The partition count is part of the layout; it is recorded here and checked at every start.
      return {
        ...base,
        discard: DiscardPolicy.New,
        max_age: 7 * DAY_NS,
        description: `partitions=${nats.partitions}`,
      };
    case 'ENRICHED':
      return {
        ...base,
        discard: DiscardPolicy.New,
        max_age: 1 * DAY_NS,
        description: `partitions=${nats.partitions}`,
      };
    case 'DECISIONS':
      return { ...base, max_age: 30 * DAY_NS };
    case 'DLQ':
      return { ...base, max_age: 30 * DAY_NS };
    case 'LEASES':
      // Only the latest record per key matters (compare-and-set on the subject's last sequence); records of
      // members gone for good age out. Leases live seconds (NUNCHI_LEASE_TTL_MS ≤ 60 s), far below max_age.
      return {
        ...base,
        max_msgs_per_subject: 1,
        max_age: 10 * 60_000_000_000,
        duplicate_window: msToNs(1_000),
      };
  }
}

/** Every stream, in the order they are applied and checked. */
export const ALL_STREAMS: StreamName[] = ['EVENTS', 'ENRICHED', 'DECISIONS', 'DLQ', 'LEASES'];

/**
 * The operator's step (`nunchi migrate`, `nunchi streams apply`), never a service's: creates the streams if
 * missing, updates them otherwise (replicas, limits, duplicate window) to this configuration. Fails when the
 * partition count differs from the one the streams were created with: changing it would reorder in-flight
 * customers. Services only check the layout (checkStreams): a process started with a stale or default
 * configuration must not reset what production set (say, three replicas down to one).
 */
export async function applyStreams(
  nc: NatsConnection,
  nats: NatsConfig,
  names: StreamName[] = ALL_STREAMS,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of names) {
    const wanted = configFor(name, nats);
    let existing: StreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(wanted.name!)).config;
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error;
    }
    if (!existing) {
      await reserving(name, () => jsm.streams.add({ ...wanted, name: wanted.name! }));
      continue;
    }
    checkPartitions(wanted.name!, existing, nats);
    await reserving(name, () => jsm.streams.update(wanted.name!, { ...existing, ...wanted }));
  }
}

/** JetStream's "insufficient storage resources" (10047), said with the variable that fixes it. */
async function reserving(name: StreamName, change: () => Promise<unknown>): Promise<void> {
  try {
    await change();
  } catch (error) {
    const e = error as Error & { code?: number; api_error?: { err_code?: number } };
    if (e.api_error?.err_code !== 10047 && !/insufficient storage/i.test(e.message)) throw error;
    throw new StreamLayoutError(
      `JetStream cannot reserve the byte limit of stream ${name} (${maxBytesVariable(name)}): the server has ` +
        `less storage left than the streams' limits add up to. Lower ${maxBytesVariable(name)} (or the other ` +
        `NUNCHI_STREAM_*_MAX_MIB), or give JetStream more storage (max_file_store).`,
      { cause: error },
    );
  }
}

function checkPartitions(stream: string, existing: StreamConfig, nats: NatsConfig): void {
  const had = /partitions=(\d+)/.exec(existing.description ?? '')?.[1];
  if (had && Number(had) !== nats.partitions) {
    throw new StreamLayoutError(
      `Stream ${stream} was created with ${had} partitions but NUNCHI_PARTITIONS=${nats.partitions}. ` +
        `Set NUNCHI_PARTITIONS=${had}, or drain and delete the stream to re-partition.`,
    );
  }
}

/**
 * What a service does at start instead of applying the layout: every stream exists, has at least the
 * configured replicas (NUNCHI_STREAM_REPLICAS) and the configured partition count. Anything else is a
 * StreamLayoutError naming the fix; nothing is changed.
 */
export async function checkStreams(
  nc: NatsConnection,
  nats: NatsConfig,
  names: StreamName[] = ALL_STREAMS,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const problems: string[] = [];
  for (const name of names) {
    const stream = Streams[name].name;
    let existing: StreamConfig;
    try {
      existing = (await jsm.streams.info(stream)).config;
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error;
      problems.push(`stream ${stream} does not exist`);
      continue;
    }
    const replicas = existing.num_replicas ?? 1;
    if (replicas < nats.streamReplicas)
      problems.push(
        `stream ${stream} has ${replicas} replica(s), fewer than NUNCHI_STREAM_REPLICAS=${nats.streamReplicas}`,
      );
    checkPartitions(stream, existing, nats);
  }
  if (problems.length)
    throw new StreamLayoutError(
      `${problems.join('; ')}. Streams are created and changed by the migration step only: run "nunchi migrate" ` +
        `(or "nunchi streams apply") with this configuration${problems.some((p) => p.includes('replica')) ? ' on a NATS cluster of at least that many servers' : ''}, then start the service again.`,
    );
}
