import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Counter, Histogram, ObservableCallback, ObservableGauge } from '@opentelemetry/api';
import { meter } from '@nunchi/telemetry';
import type { Logger } from './consumer-runner.js';
import type { LeaseRecord, LeaseStore } from './lease-store.js';

/** Why a replica stopped consuming a partition. */
export type ReleaseReason =
  /** another replica joined or this one holds more than its share: handed over cleanly */
  | 'rebalance'
  /** the lease was taken by another replica (this one had let it expire) */
  | 'lost'
  /** renewals failed for half a TTL (NATS unreachable): stop before anyone else may take over */
  | 'expired'
  /** this replica is shutting down */
  | 'shutdown';

const RELEASE_REASONS: readonly ReleaseReason[] = ['rebalance', 'lost', 'expired', 'shutdown'];

export interface PartitionOwnershipOptions {
  /** consumer group sharing the partitions, e.g. "context" (a subject token) */
  group: string;
  /** this replica's id, unique among live replicas (a subject token); see memberIdOf */
  memberId: string;
  /** number of partitions to share out: 0 … partitions-1 */
  partitions: number;
  store: LeaseStore;
  /**
   * milliseconds a lease lives without renewal; rounds (membership, rebalancing) run every ttlMs/4, renewals
   * on a loop of their own every ttlMs/8; a dead replica's partitions are taken over after about
   * ttlMs + ttlMs/4. @default 6_000
   */
  ttlMs?: number;
  /** called once this replica holds the partition's lease: start consuming it */
  onAcquire(partition: number): Promise<void>;
  /** called before the lease is given up (or once it is known lost): stop consuming, drop its state */
  onRelease(partition: number, reason: ReleaseReason): Promise<void>;
  /** monotonic milliseconds; @default performance.now */
  clock?: () => number;
  logger?: Logger;
}

interface Held {
  /** the lease record's revision written by this replica */
  revision: number;
  /** clock() just before the last successful write: the lease is valid until at least this + ttl */
  renewedAt: number;
}

interface Seen {
  revision: number;
  /** clock() when this revision was first read: a record unchanged for a TTL since then has expired */
  since: number;
}

/**
 * Splits partitions among the live replicas of a group, a fair share each, with leases in a LeaseStore
 * (a JetStream stream with compare-and-set; see JetStreamLeaseStore).
 *
 * - Every replica writes a heartbeat record; a replica whose record has not changed for a TTL is dead.
 * - Live replicas, sorted by id, get ⌊P/n⌋ partitions each and the first P mod n one more.
 * - A lease is one record per partition naming its owner. It is taken or renewed only by compare-and-set
 *   on the record's revision, so two replicas can never both succeed; a replica that fails to renew stops
 *   consuming (onRelease 'lost'), and one that cannot reach the store stops at half a TTL ('expired').
 * - Renewals run on a loop of their own, one write per lease every ttl/8, never queued behind a round's
 *   reads: under overload (every request slow) a round is several round trips long, and a renewal that
 *   waited for it missed its half-TTL deadline (652 partitions moved in one full-rate chaos run). A renewal
 *   whose write landed although its reply timed out finds the record naming this replica: it is still ours.
 * - Expiry needs no synchronised clocks: an observer counts a TTL from when it first saw a revision, which
 *   is after the owner wrote it, and the owner counts half a TTL from before it wrote; so the old owner has
 *   stopped a quarter TTL or more before anyone else may start. Records the store stamped two TTLs or more
 *   before this round's own heartbeat are expired at first sight (one clock, the store's), so a replica
 *   starting after another was killed does not wait a TTL to count it dead.
 * - Over its share, a replica releases partitions (onRelease 'rebalance', then an empty record others may
 *   take at once); under it, it takes free or expired ones, preferring partitions by rendezvous hashing so
 *   that replicas rarely contend for the same one.
 */
export class PartitionOwnership {
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private readonly held = new Map<number, Held>();
  private readonly seen = new Map<string, Seen>();
  private liveMembers: string[] = [];
  private readonly releases: Counter;
  private readonly renewalSeconds: Histogram;
  private readonly ownedGauge: ObservableGauge;
  private readonly observeOwned: ObservableCallback;
  private readonly rounds: RepeatingPass;
  private readonly renewals: RepeatingPass;
  private fenceTimer: NodeJS.Timeout | undefined;
  /** clock() at the last fence check, which a timer runs every ttl/8 */
  private lastFenceAt: number | undefined;
  /**
   * how late (ms) each of the last four fence checks ran, half a TTL: a busy event loop runs timers late, and a
   * fence's log line says so (a starved process, not a slow NATS)
   */
  private readonly fenceLateness: number[] = [];
  private stopped = false;

  constructor(private readonly options: PartitionOwnershipOptions) {
    this.ttlMs = options.ttlMs ?? 6_000;
    this.clock = options.clock ?? (() => performance.now());
    if (!Number.isInteger(options.partitions) || options.partitions < 1)
      throw new RangeError('partitions must be a positive integer');
    const failed = (what: string) => (error: Error) =>
      options.logger?.error(`partition ownership (${options.group}): ${what} failed: ${error.message}`);
    const m = meter();
    this.releases = m.createCounter('nunchi_partition_releases_total', {
      description:
        'partitions this replica stopped consuming, by group and reason: rebalance and shutdown (handed over ' +
        'cleanly), expired (its lease not renewed within half a TTL: a starved process or a slow NATS), lost ' +
        '(the lease was taken by another replica)',
    });
    this.renewalSeconds = m.createHistogram('nunchi_lease_renewal_seconds', {
      description: 'one lease renewal, from the write sent to its answer (failed ones included), by group',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] },
    });
    this.ownedGauge = m.createObservableGauge('nunchi_partitions_owned', {
      description: 'partitions whose lease this replica holds, by group',
    });
    this.observeOwned = (r) => r.observe(this.held.size, { group: options.group });
    this.rounds = new RepeatingPass(this.ttlMs / 4, () => this.tick(), failed('round'));
    this.renewals = new RepeatingPass(this.ttlMs / 8, () => this.renew(), failed('renewal'));
  }

  /**
   * Runs the first round (taking this replica's share if the partitions are free), then rounds every ttl/4
   * and renewals every ttl/8, each loop waiting for its previous pass.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.ownedGauge.addCallback(this.observeOwned);
    // Every reason's series exists from the start, at 0: an alert on its increase sees the first one.
    for (const reason of RELEASE_REASONS) this.releases.add(0, { group: this.options.group, reason });
    await this.tick();
    this.rounds.start();
    this.renewals.start();
    // Independent of the round (which may hang on an unreachable store): stop consuming before a lease can lapse.
    this.fenceTimer = setInterval(
      () =>
        void this.fence().catch((error: Error) =>
          this.options.logger?.error(
            `partition ownership (${this.options.group}): fence failed: ${error.message}`,
          ),
        ),
      this.ttlMs / 8,
    );
  }

  /** Releases every partition (others take them over at their next round) and leaves the group. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.fenceTimer);
    this.ownedGauge.removeCallback(this.observeOwned);
    await Promise.all([this.rounds.stop(), this.renewals.stop()]);
    for (const partition of [...this.held.keys()].sort((a, b) => a - b))
      await this.release(partition, 'shutdown');
    await this.options.store
      .put(this.memberKey(this.options.memberId), { owner: this.options.memberId, left: true })
      .catch(() => undefined);
  }

  get memberId(): string {
    return this.options.memberId;
  }

  /** Whether this replica currently holds the partition's lease. */
  owns(partition: number): boolean {
    return this.held.has(partition);
  }

  /** Partitions held, ascending. */
  get owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Live members as of the last round, sorted (this one included). */
  get members(): string[] {
    return [...this.liveMembers];
  }

  /** This replica's share under the last round's view of live members. */
  get share(): number {
    return shareOf(this.options.memberId, this.liveMembers, this.options.partitions);
  }

  /** One round: heartbeat, read members and leases, release extras, acquire up to the share (no renewals). */
  async tick(): Promise<void> {
    const { store, memberId, partitions } = this.options;
    try {
      await store.put(this.memberKey(memberId), { owner: memberId });
      const memberKeys = await store.keys(this.memberKey(''));
      const [members, leases] = await Promise.all([
        Promise.all(memberKeys.map(async (key) => [key, await store.get(key)] as const)),
        Promise.all(Array.from({ length: partitions }, (_, p) => store.get(this.leaseKey(p)))),
      ]);
      const readAt = this.clock();
      // The store's time of this round: our own heartbeat, just written. Records stamped two TTLs before it
      // are expired at first sight (a replica killed minutes ago is not waited for); younger ones are judged
      // by observation, which needs no clock but one TTL of watching.
      const storeNow = members.find(([key]) => key === this.memberKey(memberId))?.[1]?.writtenAtMs;
      const expired = (key: string, record: LeaseRecord) =>
        this.expired(key, record.revision, readAt) ||
        (storeNow !== undefined && storeNow - record.writtenAtMs >= 2 * this.ttlMs);
      const live = new Set([memberId]);
      for (const [key, record] of members) {
        if (record && !record.value.left && record.value.owner && !expired(key, record))
          live.add(record.value.owner);
      }
      this.liveMembers = [...live].sort();
      if (this.stopped) return;

      const share = this.share;
      if (this.held.size > share) {
        const extras = this.owned
          .sort((a, b) => this.preference(a) - this.preference(b))
          .slice(0, this.held.size - share);
        for (const partition of extras) await this.release(partition, 'rebalance');
      }
      // Every lease is observed every round (not only when looking for one), so that a dead owner's leases
      // are known expired one TTL after its last renewal, not one TTL after this replica started looking.
      const free = leases
        .map((record, partition) => ({ record, partition }))
        .filter(({ record, partition }) => {
          if (this.held.has(partition)) return false;
          const lapsed = record ? expired(this.leaseKey(partition), record) : true;
          return !record || record.value.owner === null || record.value.owner === memberId || lapsed;
        })
        .sort((a, b) => this.preference(b.partition) - this.preference(a.partition));
      if (this.held.size < share) {
        for (const { record, partition } of free) {
          if (this.held.size >= share || this.stopped) break;
          await this.acquire(partition, record?.revision ?? 0);
        }
      }
    } catch (error) {
      this.options.logger?.warn(
        `partition ownership (${this.options.group}): round failed: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Renews every lease held, in parallel (the renewal loop's pass; tests call it directly). A write refused
   * because the record moved on is a lease lost, unless the latest record names this replica: an earlier
   * renewal that timed out landed after all, and nobody else has written since.
   */
  async renew(): Promise<void> {
    await Promise.all(
      [...this.held].map(async ([partition, held]) => {
        const sentAt = this.clock();
        const key = this.leaseKey(partition);
        let revision = await this.options.store
          .put(key, { owner: this.options.memberId }, held.revision)
          .catch((error: Error) => {
            this.options.logger?.warn(`partition ${partition}: lease renewal failed: ${error.message}`);
            return undefined;
          });
        this.renewalSeconds.record((this.clock() - sentAt) / 1000, { group: this.options.group });
        if (revision === 'conflict') {
          const latest = await this.options.store.get(key).catch(() => undefined);
          if (latest?.value.owner === this.options.memberId) revision = latest.revision;
        }
        if (typeof revision === 'number') held.revision = revision; // also for release(), if released meanwhile
        if (this.held.get(partition) !== held) return; // released meanwhile (fence or rebalance)
        if (revision === 'conflict') {
          this.held.delete(partition);
          this.options.logger?.warn(`partition ${partition}: lease lost to another replica`);
          await this.stopConsuming(partition, 'lost');
        } else if (revision !== undefined) {
          held.renewedAt = sentAt;
        }
      }),
    );
  }

  private async acquire(partition: number, expectedRevision: number): Promise<void> {
    const sentAt = this.clock();
    const revision = await this.options.store.put(
      this.leaseKey(partition),
      { owner: this.options.memberId },
      expectedRevision,
    );
    if (revision === 'conflict') return; // another replica was quicker
    const held: Held = { revision, renewedAt: sentAt };
    this.held.set(partition, held);
    try {
      await this.options.onAcquire(partition);
      this.options.logger?.log(`partition ${partition}: acquired by ${this.options.memberId}`);
    } catch (error) {
      this.options.logger?.error(
        `partition ${partition}: could not start consuming: ${(error as Error).message}`,
      );
      if (this.held.get(partition) === held) await this.release(partition, 'rebalance');
    }
  }

  private async release(partition: number, reason: ReleaseReason): Promise<void> {
    const held = this.held.get(partition);
    if (!held) return;
    this.held.delete(partition);
    // Stop consuming first, then free the lease: nobody else starts before this replica has stopped. A
    // renewal in flight would move the revision under the release's compare-and-set: wait for it.
    await this.stopConsuming(partition, reason);
    await this.renewals.inFlight;
    await this.options.store
      .put(this.leaseKey(partition), { owner: null }, held.revision)
      .catch(() => undefined);
    this.options.logger?.log(`partition ${partition}: released by ${this.options.memberId} (${reason})`);
  }

  /** onRelease, counted by reason (nunchi_partition_releases_total). */
  private async stopConsuming(partition: number, reason: ReleaseReason): Promise<void> {
    this.releases.add(1, { group: this.options.group, reason });
    await this.options.onRelease(partition, reason);
  }

  /** Stops consuming partitions whose last successful renewal is half a TTL old (run by a timer every ttl/8). */
  async fence(): Promise<void> {
    const now = this.clock();
    if (this.lastFenceAt !== undefined)
      this.fenceLateness.push(Math.max(0, Math.round(now - this.lastFenceAt - this.ttlMs / 8)));
    if (this.fenceLateness.length > 4) this.fenceLateness.shift();
    this.lastFenceAt = now;
    for (const [partition, held] of [...this.held]) {
      // Still the lease this round saw: an earlier fence (still stopping consumers) or a renewal may have
      // released it, and it may even have been acquired again since.
      if (this.held.get(partition) !== held || now - held.renewedAt < this.ttlMs / 2) continue;
      this.held.delete(partition);
      this.options.logger?.warn(
        `partition ${partition}: lease not renewed for ${Math.round(now - held.renewedAt)} ms; stopping ` +
          `(this process's timers ran up to ${Math.max(0, ...this.fenceLateness)} ms late meanwhile)`,
      );
      await this.stopConsuming(partition, 'expired');
    }
  }

  /** True once a record has kept the same revision for a TTL, counted from when this replica first saw it. */
  private expired(key: string, revision: number, now: number): boolean {
    const seen = this.seen.get(key);
    if (!seen || seen.revision !== revision) {
      this.seen.set(key, { revision, since: now });
      return false;
    }
    return now - seen.since >= this.ttlMs;
  }

  /** Rendezvous-hash weight of a partition for this replica: higher is preferred. */
  private preference(partition: number): number {
    return fnv1a(`${this.options.memberId}/${partition}`);
  }

  private leaseKey(partition: number): string {
    return `${this.options.group}.partition.${partition}`;
  }

  private memberKey(memberId: string): string {
    return `${this.options.group}.member.${memberId}`;
  }
}

/** Runs a pass every `intervalMs` after the previous one ended (never two at once), until stopped. */
class RepeatingPass {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** the pass running now, if any */
  inFlight: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly pass: () => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops scheduling passes; resolves when the one in flight, if any, has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.inFlight = this.pass()
        .catch(this.onError)
        .finally(() => {
          this.inFlight = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
  }
}

/** A member id unique among live replicas and readable in logs: host (the pod name in Kubernetes), pid, random. */
export function newMemberId(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** ⌊P/n⌋ partitions for each live member, one more for the first P mod n in sorted order. */
export function shareOf(memberId: string, liveSorted: readonly string[], partitions: number): number {
  const n = Math.max(1, liveSorted.length);
  const rank = liveSorted.indexOf(memberId);
  return Math.floor(partitions / n) + (rank >= 0 && rank < partitions % n ? 1 : 0);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i) & 0xff;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
