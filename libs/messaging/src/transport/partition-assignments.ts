import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../consumer-runner.js';
import { JetStreamLeaseStore } from '../lease-store.js';
import { newMemberId, PartitionOwnership, type ReleaseReason } from '../partition-ownership.js';

/** What an app does when its replica gains or loses a partition (drop cached state of its customers, say). */
export interface PartitionListener {
  /** before the partition's consumers start */
  acquired?(partition: number): void | Promise<void>;
  /** after the partition's consumers have stopped (messages in hand finished) */
  released?(partition: number, reason: ReleaseReason): void | Promise<void>;
}

/** Consumers the transport starts and stops with a partition. */
export interface PartitionConsumer {
  start(partition: number): Promise<void>;
  stop(partition: number): Promise<void>;
}

/**
 * One consumer group's share of the partitions on this replica (a PartitionOwnership): the transport binds
 * its partitioned stream consumers to it; apps ask what is owned and listen for changes.
 */
export class PartitionGroup {
  readonly ownership: PartitionOwnership;
  private readonly consumers: PartitionConsumer[] = [];
  private readonly listeners: PartitionListener[] = [];
  private started = false;

  constructor(
    readonly name: string,
    options: { nc: NatsConnection; partitions: number; leaseTtlMs: number; logger?: Logger },
  ) {
    this.ownership = new PartitionOwnership({
      group: name,
      memberId: newMemberId(),
      partitions: options.partitions,
      ttlMs: options.leaseTtlMs,
      store: new JetStreamLeaseStore(options.nc, options.leaseTtlMs / 4),
      onAcquire: (p) => this.acquire(p),
      onRelease: (p, reason) => this.release(p, reason),
      logger: options.logger,
    });
  }

  owns(partition: number): boolean {
    return this.ownership.owns(partition);
  }

  onChange(listener: PartitionListener): void {
    this.listeners.push(listener);
  }

  /** Transport: start and stop this consumer with each partition acquired and released. */
  bind(consumer: PartitionConsumer): void {
    if (this.started) throw new Error(`partition group ${this.name}: bind consumers before it starts`);
    this.consumers.push(consumer);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.ownership.start();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.ownership.stop();
  }

  private async acquire(partition: number): Promise<void> {
    for (const listener of this.listeners) await listener.acquired?.(partition);
    for (const consumer of this.consumers) await consumer.start(partition);
  }

  private async release(partition: number, reason: ReleaseReason): Promise<void> {
    for (const consumer of this.consumers) await consumer.stop(partition);
    for (const listener of this.listeners) await listener.released?.(partition, reason);
  }
}

/** The partition groups of this process, one PartitionGroup per group name, shared by transport and app. */
export class PartitionAssignments {
  private readonly groups = new Map<string, PartitionGroup>();

  constructor(
    private readonly options: { nc: NatsConnection; partitions: number; leaseTtlMs: number; logger?: Logger },
  ) {}

  get partitions(): number {
    return this.options.partitions;
  }

  group(name: string): PartitionGroup {
    let group = this.groups.get(name);
    if (!group) this.groups.set(name, (group = new PartitionGroup(name, this.options)));
    return group;
  }

  all(): PartitionGroup[] {
    return [...this.groups.values()];
  }
}
