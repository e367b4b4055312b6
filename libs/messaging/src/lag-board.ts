import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Subjects, type LagReport } from '@nunchi/contracts/core';
import { LAG_REPORT_MS } from './lag-reporter.js';

/** milliseconds after which a replica's lag report no longer counts (it stopped, or lost the partition) */
export const LAG_REPORT_TTL_MS = 2_000;

/**
 * ms: the lag from which the hot path counts as behind, for a bound of NUNCHI_ADMISSION_MAX_LAG_MS: ingestion
 * starts refusing a share of the partition's events (refused all past the bound), analytics yields.
 */
export const behindFromMs = (admissionMaxLagMs: number): number => admissionMaxLagMs / 2;

/**
 * ms: the lag past which work that can wait (a simulation on history) holds, however long, rather than go on
 * by a step now and then: from where the hot path counts as behind (behindFromMs: ingestion refusing a share
 * of events), or half the SLA (its decisions half-way to late) if that comes first or admission control is
 * off. Each step of a crawl — Cassandra reads, at the node's normal priority — is what would push live
 * events into refusals and past their deadline.
 */
export const holdFromMs = (admissionMaxLagMs: number, slaMs: number): number =>
  admissionMaxLagMs > 0 ? Math.min(behindFromMs(admissionMaxLagMs), slaMs / 2) : slaMs / 2;

/** milliseconds for which a computed view is reused (reports arrive every LAG_REPORT_MS, 500 ms) */
const RECOMPUTE_MS = 100;

/** milliseconds between two looks at the lag while waiting for the hot path to catch up */
const LOOK_MS = 100;

/** milliseconds of reports kept for untilCaughtUp's calmMs (the longest calm asked for) */
const RECENT_KEPT_MS = 60_000;

/** How untilCaughtUp waits, beyond its bound and longest wait. */
export interface CatchUpOptions {
  /**
   * ms of lag past which it holds, however long, rather than go on after maxWaitMs (@default none: it always
   * goes on after maxWaitMs)
   */
  holdFromMs?: number;
  /**
   * of the callers waiting together on this board, one goes on after maxWaitMs, the next maxWaitMs later, and
   * so on, while the hot path stays behind — a crawl of one piece each maxWaitMs, not one piece per waiter (a
   * simulation reads 48 customers at once: all of them going on together every 5 s was a burst of reads the
   * hot path felt). All go on as soon as it has caught up.
   */
  oneStepAtATime?: boolean;
  /**
   * ms for which every report must have been within the bound before the hot path counts as caught up
   * (@default 0: the latest reports are enough). At capacity, admission control keeps the lag swinging
   * between its bound and nothing; work that goes on in each dip takes the cores the next burst needs.
   */
  calmMs?: number;
}

/**
 * What the hot path's consumers say of their lag (LagReport on Subjects.lag(group), every 500 ms from each
 * context and decision replica): per partition, the age of the oldest message a consumer of it holds, the
 * worst over context and decision. A replica's report replaces its previous one; one that stopped reporting
 * (hung, gone, or its partitions moved) is forgotten after LAG_REPORT_TTL_MS, so a dead consumer never counts
 * as a lagging one. Ingestion's admission control and analytics' yielding read it.
 */
export class LagBoard {
  /** `<group>/<member>` → its latest report */
  private readonly reports = new Map<string, LagReport>();
  /** partition → the largest oldestAgeMs over live reports */
  private byPartition = new Map<number, number>();
  private worst = 0;
  private computedAt = -Infinity;
  /** one timer shared by every waiter */
  private look: Promise<void> | undefined;
  /** epoch ms at which a waiter last went on by a step while the hot path was behind (untilCaughtUp) */
  private lastStepMs = -Infinity;
  /** [epoch ms received, its worst oldestAgeMs] of each report of the last RECENT_KEPT_MS, oldest first */
  private readonly recent: Array<[number, number]> = [];

  receive(report: LagReport): void {
    if (typeof report?.group !== 'string' || !Array.isArray(report.partitions)) return;
    this.reports.set(`${report.group}/${report.member}`, report);
    this.computedAt = -Infinity;
    const nowMs = Date.now();
    let worst = 0;
    for (const p of report.partitions) if (p.oldestAgeMs > worst) worst = p.oldestAgeMs;
    this.recent.push([nowMs, worst]);
    while (this.recent.length > 0 && this.recent[0][0] < nowMs - RECENT_KEPT_MS) this.recent.shift();
  }

  /** ms: the worst lag a report received over the last `spanMs` milliseconds gave (at most RECENT_KEPT_MS) */
  worstOverMs(spanMs: number, nowMs = Date.now()): number {
    let worst = 0;
    for (let i = this.recent.length - 1; i >= 0 && this.recent[i][0] >= nowMs - spanMs; i--)
      if (this.recent[i][1] > worst) worst = this.recent[i][1];
    return worst;
  }

  /**
   * Whether some partition is behind by more than `behindMs` now (its worst lag: `worst`), or — with a
   * `calmMs` — some report of the last `calmMs` was. A bound of 0 is never behind.
   */
  isBehind(behindMs: number, calmMs = 0, worst = this.worstMs()): boolean {
    return behindMs > 0 && (worst > behindMs || (calmMs > 0 && this.worstOverMs(calmMs) > behindMs));
  }

  /** ms: the oldest message held for this partition by a replica still reporting (0: none) */
  lagOf(partition: number, nowMs = Date.now()): number {
    this.refresh(nowMs);
    return this.byPartition.get(partition) ?? 0;
  }

  /** ms: the worst lag over every partition */
  worstMs(nowMs = Date.now()): number {
    this.refresh(nowMs);
    return this.worst;
  }

  /**
   * Resolves at once while no partition is behind by more than `behindMs`; else when every one has caught
   * up, or after `maxWaitMs` — but never while one is behind by more than `holdFromMs` (work that must not
   * add to a hot path whose decisions near their deadline holds until it falls back below). Resolves with
   * the milliseconds waited. Work that can wait (analytics, a simulation on history) awaits it before each
   * piece, so that the hot path gets the cores it shares. See CatchUpOptions.
   */
  async untilCaughtUp(
    behindMs: number,
    maxWaitMs: number,
    { holdFromMs = Infinity, oneStepAtATime = false, calmMs = 0 }: CatchUpOptions = {},
  ): Promise<number> {
    if (!this.isBehind(behindMs, calmMs)) return 0;
    const startMs = Date.now();
    for (;;) {
      const worst = this.worstMs();
      if (!this.isBehind(behindMs, calmMs, worst)) break;
      const nowMs = Date.now();
      if (nowMs - startMs >= maxWaitMs && worst <= holdFromMs) {
        if (!oneStepAtATime) break;
        if (nowMs - this.lastStepMs >= maxWaitMs) {
          this.lastStepMs = nowMs;
          break;
        }
      }
      await this.nextLook();
    }
    return Date.now() - startMs;
  }

  private nextLook(): Promise<void> {
    this.look ??= new Promise<void>((resolve) =>
      setTimeout(() => {
        this.look = undefined;
        resolve();
      }, LOOK_MS),
    );
    return this.look;
  }

  private refresh(nowMs: number): void {
    if (nowMs - this.computedAt <= RECOMPUTE_MS) return;
    const lag = new Map<number, number>();
    let worst = 0;
    for (const [key, report] of this.reports) {
      if (nowMs - report.atMs > LAG_REPORT_TTL_MS) {
        this.reports.delete(key);
        continue;
      }
      for (const p of report.partitions) {
        if (p.oldestAgeMs > (lag.get(p.partition) ?? 0)) lag.set(p.partition, p.oldestAgeMs);
        if (p.oldestAgeMs > worst) worst = p.oldestAgeMs;
      }
    }
    this.byPartition = lag;
    this.worst = worst;
    this.computedAt = nowMs;
  }
}

/**
 * For a process outside the NestJS services (a simulation worker, the CLI): `wait()` is
 * LagBoard.untilCaughtUp(behindMs, maxWaitMs, { holdFromMs, calmMs }), one step at a time, over the hot
 * path's lag reports as they arrive on `nc` (Subjects.lagAll: the analytics and operator identities may
 * subscribe to it); `behind()` whether a wait would wait now. Until every replica has reported nothing is
 * known: `ready` resolves one report interval after the first report (each replica reports once an
 * interval: the first says what one of them holds, and one that is behind may report after it), or two
 * intervals after the server has confirmed the subscription with none heard (then no replica is reporting:
 * none is behind); waits before it wait for it too. The intervals count from the confirmation, not from the
 * call: a process started on a loaded machine may take longer than that to get its subscription to the
 * server, and would otherwise go on as if nothing were behind. `worstMs()` is the lag now (ms, 0: none
 * known). `stop()` unsubscribes.
 */
export function waitForHotPath(
  nc: NatsConnection,
  behindMs: number,
  maxWaitMs: number,
  { holdFromMs, calmMs = 0 }: Pick<CatchUpOptions, 'holdFromMs' | 'calmMs'> = {},
): {
  ready: Promise<void>;
  wait(): Promise<number>;
  behind(): boolean;
  worstMs(): number;
  stop(): void;
} {
  const board = new LagBoard();
  let heardFirst: (() => void) | undefined;
  const everyReplicaHeard = new Promise<void>(
    (resolve) => (heardFirst = () => setTimeout(resolve, LAG_REPORT_MS).unref()),
  );
  const subscription: Subscription = nc.subscribe(Subjects.lagAll, {
    callback: (error, msg) => {
      if (error) return;
      try {
        board.receive(msg.json<LagReport>());
        heardFirst?.();
        heardFirst = undefined;
      } catch {
        // not a report: ignored, as a service ignores it
      }
    },
  });
  const reportsKnown = Promise.race([
    everyReplicaHeard,
    nc
      .flush()
      .catch(() => undefined)
      .then(() => new Promise<void>((resolve) => setTimeout(resolve, 2 * LAG_REPORT_MS).unref())),
  ]);
  return {
    ready: reportsKnown,
    wait: () =>
      reportsKnown.then(() =>
        board.untilCaughtUp(behindMs, maxWaitMs, { holdFromMs, calmMs, oneStepAtATime: true }),
      ),
    behind: () => board.isBehind(behindMs, calmMs),
    worstMs: () => board.worstMs(),
    stop: () => subscription.unsubscribe(),
  };
}
