import {
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, Subjects } from '@nunchi/contracts/core';
import { decodeJson, encodeJson } from './codec.js';

/** A lease or heartbeat record. */
export interface LeaseValue {
  /** the member holding the lease (or writing the heartbeat); null: released, free to take */
  owner: string | null;
  /** heartbeat only: the member left the group cleanly */
  left?: boolean;
}

export interface LeaseRecord {
  value: LeaseValue;
  /** increases with every write of the key */
  revision: number;
  /** epoch ms the store stamped on the write (the store's clock: comparable only with its other stamps) */
  writtenAtMs: number;
}

/**
 * Keyed records with compare-and-set: what partition ownership needs from a store. Keys are dot-separated
 * subject tokens, e.g. "context.partition.3".
 */
export interface LeaseStore {
  /** the latest record of the key, or undefined when there is none */
  get(key: string): Promise<LeaseRecord | undefined>;
  /**
   * Writes the record. With expectedRevision, only if the key's latest revision is that (0: the key has no
   * record): returns 'conflict' otherwise. Returns the new revision.
   */
  put(key: string, value: LeaseValue, expectedRevision?: number): Promise<number | 'conflict'>;
  /** keys that start with prefix (which ends with '.'), having a record */
  keys(prefix: string): Promise<string[]>;
}

/** JetStream error code: the subject's last sequence was not the expected one. */
const WRONG_LAST_SEQUENCE = 10071;

/**
 * Keyed records with compare-and-set on the JetStream stream LEASES (one message kept per subject), the way
 * NATS KV is built: the revision is the stream sequence, compare-and-set is
 * `Nats-Expected-Last-Subject-Sequence`. (nats-server 2.9 has KV, but the project's client packages do not
 * include @nats-io/kv; this is the same mechanism.) Partition leases and the adapters' shared rate buckets
 * live here, each under its own key prefix.
 */
export class JetStreamRecords<V> {
  protected readonly js: JetStreamClient;
  private manager?: Promise<JetStreamManager>;
  protected readonly prefix = Subjects.lease('x').slice(0, -1);

  /** @param timeoutMs milliseconds per request */
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 1_500,
  ) {
    this.js = jetstream(nc, { timeout: timeoutMs });
  }

  /**
   * The manager, made on first use and made again after a failure: made eagerly, its JetStream check could
   * fail before anything awaits it (a slow server at start-up) and end the process as an unhandled rejection.
   */
  protected jsm(): Promise<JetStreamManager> {
    this.manager ??= jetstreamManager(this.nc, { timeout: this.timeoutMs }).catch((error: unknown) => {
      this.manager = undefined;
      throw error;
    });
    return this.manager;
  }

  async get(key: string): Promise<{ value: V; revision: number; writtenAtMs: number } | undefined> {
    const msg = await (
      await this.jsm()
    ).streams.getMessage(Streams.LEASES.name, { last_by_subj: Subjects.lease(key) });
    if (!msg) return undefined;
    return { value: decodeJson(msg.data) as V, revision: msg.seq, writtenAtMs: msg.time.getTime() };
  }

  /**
   * Writes the record. With expectedRevision, only if the key's latest revision is that (0: the key has no
   * record): returns 'conflict' otherwise. Returns the new revision.
   */
  async put(key: string, value: V, expectedRevision?: number): Promise<number | 'conflict'> {
    try {
      const ack = await this.js.publish(
        Subjects.lease(key),
        encodeJson(value),
        expectedRevision === undefined ? {} : { expect: { lastSubjectSequence: expectedRevision } },
      );
      return ack.seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return 'conflict';
      throw error;
    }
  }
}

/** LeaseStore on JetStreamRecords (the stream LEASES). */
export class JetStreamLeaseStore extends JetStreamRecords<LeaseValue> implements LeaseStore {
  /** @param timeoutMs milliseconds per request: keep it well under the lease TTL */
  constructor(nc: NatsConnection, timeoutMs = 1_500) {
    super(nc, timeoutMs);
  }

  async keys(prefix: string): Promise<string[]> {
    const info = await (
      await this.jsm()
    ).streams.info(Streams.LEASES.name, { subjects_filter: `${this.prefix}${prefix}*` });
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(this.prefix.length));
  }
}

/** In-memory LeaseStore with the same semantics: for tests of code that uses partition ownership. */
export class MemoryLeaseStore implements LeaseStore {
  private readonly records = new Map<string, LeaseRecord>();
  private sequence = 0;
  /** when set, every call fails with this error (an unreachable store) */
  failWith: Error | undefined;

  /** @param clock the store's clock, epoch ms (a test's fake clock) */
  constructor(private readonly clock: () => number = Date.now) {}

  get(key: string): Promise<LeaseRecord | undefined> {
    if (this.failWith) return Promise.reject(this.failWith);
    const r = this.records.get(key);
    return Promise.resolve(r && { value: { ...r.value }, revision: r.revision, writtenAtMs: r.writtenAtMs });
  }

  put(key: string, value: LeaseValue, expectedRevision?: number): Promise<number | 'conflict'> {
    if (this.failWith) return Promise.reject(this.failWith);
    if (expectedRevision !== undefined && (this.records.get(key)?.revision ?? 0) !== expectedRevision)
      return Promise.resolve('conflict');
    const revision = ++this.sequence;
    this.records.set(key, { value: { ...value }, revision, writtenAtMs: this.clock() });
    return Promise.resolve(revision);
  }

  keys(prefix: string): Promise<string[]> {
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve([...this.records.keys()].filter((k) => k.startsWith(prefix)));
  }
}
