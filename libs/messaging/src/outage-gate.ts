import type { Dependency } from './infrastructure.js';

/** The consumer is stopping: a wait is abandoned and the message left unacknowledged (redelivered in order). */
export class StoppedError extends Error {
  override readonly name = 'StoppedError';
}

export interface Outage {
  dependency: Dependency;
  /** the last infrastructure error seen */
  reason: string;
  /** epoch ms of the first failure of this outage */
  sinceMs: number;
  /** probes that failed so far */
  attempts: number;
}

/**
 * Waits out an infrastructure outage for all the messages of one process: once a handler fails for an
 * infrastructure reason the gate closes; from then on, one message at a time (the probe) retries, after a
 * back-off (250 ms doubling to maxDelayMs), while every other message waits before it starts. The first
 * success opens the gate for all. Nobody is acknowledged, nacked or dead-lettered meanwhile: deliveries are
 * not used up, and per-key order holds because a waiting message keeps its place.
 */
export class OutageGate {
  private current: Outage | undefined;
  private probing = false;
  private wake: Array<() => void> = [];

  constructor(
    private readonly options: {
      maxDelayMs?: number;
      onChange?: (outage: Outage | undefined, previous: Outage | undefined) => void;
      /** epoch ms; @default Date.now */
      clock?: () => number;
    } = {},
  ) {}

  get outage(): Outage | undefined {
    return this.current && { ...this.current };
  }

  /**
   * Runs fn, waiting out infrastructure outages (isInfra) until it succeeds, fails otherwise, or signal aborts
   * (StoppedError). `onWait` runs while the message waits (to tell JetStream it is still being worked on).
   */
  async run<T>(
    fn: () => Promise<T>,
    isInfra: (error: unknown) => Dependency | undefined,
    signal: AbortSignal,
    onWait?: () => void,
  ): Promise<T> {
    for (;;) {
      const probe = await this.pass(signal, onWait);
      try {
        const value = await fn();
        this.succeeded();
        return value;
      } catch (error) {
        const dependency = isInfra(error);
        if (!dependency) throw error;
        this.failed(dependency, error);
      } finally {
        if (probe) this.endProbe();
      }
      if (signal.aborted) throw new StoppedError('stopped while waiting out an outage');
    }
  }

  /** Waits until the gate is open (false) or this caller becomes the probe after its back-off (true). */
  private async pass(signal: AbortSignal, onWait?: () => void): Promise<boolean> {
    while (this.current) {
      if (signal.aborted) throw new StoppedError('stopped while waiting out an outage');
      onWait?.();
      if (!this.probing) {
        this.probing = true;
        const delay = Math.min(
          this.options.maxDelayMs ?? 5_000,
          250 * 2 ** Math.min(this.current.attempts, 10),
        );
        try {
          await sleep(delay, signal);
        } catch (error) {
          this.endProbe();
          throw error;
        }
        if (!this.current) {
          this.endProbe();
          return false;
        }
        return true;
      }
      await this.changed(signal);
    }
    return false;
  }

  private succeeded(): void {
    if (!this.current) return;
    const previous = this.current;
    this.current = undefined;
    this.options.onChange?.(undefined, previous);
    this.notify();
  }

  private failed(dependency: Dependency, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.current) {
      this.current = { ...this.current, dependency, reason, attempts: this.current.attempts + 1 };
      return;
    }
    this.current = { dependency, reason, sinceMs: (this.options.clock ?? Date.now)(), attempts: 0 };
    this.options.onChange?.(this.current, undefined);
  }

  private endProbe(): void {
    this.probing = false;
    this.notify();
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const wake of waiting) wake();
  }

  /** Resolves at the next change (opened, probe finished), or every second to check the signal. */
  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, 1_000);
      signal.addEventListener('abort', done, { once: true });
      this.wake.push(done);
    });
  }
}

/** Resolves after ms; rejects with StoppedError as soon as signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StoppedError('stopped'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StoppedError('stopped'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
