import type { PartitionGroup } from './partition-assignments.js';

/**
 * Background work for each partition a replica gains (at start, on a takeover): warming a cache with the
 * partition's recently active customers, for example. One partition at a time, in the order gained, while the
 * partition's messages are already being handled. A partition released (or released and gained again) while
 * its work runs makes `current()` false for that run, which then stops: what it read belongs to an older turn
 * of ownership. Used by context's hot-tier preload and decision's ledger warm-up.
 */
export class PartitionWarmUp {
  /** partitions gained and not yet warmed, in the order gained */
  private readonly queue: number[] = [];
  private inProgress?: number;
  /** per partition, bumped on every acquisition and release: a run of an older turn of ownership stops */
  private readonly turns = new Map<number, number>();
  private running?: Promise<void>;
  private stopped = false;
  /** milliseconds the last completed pass over the pending partitions took */
  lastPassMs?: number;

  constructor(
    group: PartitionGroup,
    /** the work for one partition; `current()` turns false once the partition moved or the process stops */
    private readonly warm: (partition: number, current: () => boolean) => Promise<unknown>,
    /** a run that threw: logged by the caller; the next partition goes on */
    private readonly onError: (partition: number, error: Error) => void,
  ) {
    group.onChange({
      acquired: (partition) => {
        this.nextTurn(partition);
        this.queue.push(partition);
        this.kick();
      },
      released: (partition) => {
        this.nextTurn(partition);
        const at = this.queue.indexOf(partition);
        if (at >= 0) this.queue.splice(at, 1);
      },
    });
  }

  /** partitions waiting or being warmed */
  get pending(): number[] {
    return [...(this.inProgress === undefined ? [] : [this.inProgress]), ...this.queue];
  }

  /** Stops taking partitions and waits for the run in progress to notice. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.running;
  }

  private nextTurn(partition: number): void {
    this.turns.set(partition, (this.turns.get(partition) ?? 0) + 1);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length) this.kick(); // gained while the last pass was ending
    });
  }

  private async drain(): Promise<void> {
    const started = performance.now();
    for (let next = this.queue.shift(); next !== undefined && !this.stopped; next = this.queue.shift()) {
      const partition = next;
      const turn = this.turns.get(partition);
      this.inProgress = partition;
      try {
        await this.warm(partition, () => !this.stopped && this.turns.get(partition) === turn);
      } catch (error) {
        this.onError(partition, error as Error);
      }
    }
    this.inProgress = undefined;
    this.lastPassMs = Math.round(performance.now() - started);
  }
}
