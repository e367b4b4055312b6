import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Subjects, type LagReport } from '@nunchi/contracts/core';
import type { ConsumerRunner } from './consumer-runner.js';
import type { Publisher } from './publisher.js';

/** milliseconds between two reports */
export const LAG_REPORT_MS = 500;

/**
 * Publishes, every LAG_REPORT_MS, how far behind each partition consumer of this replica is (LagReport on
 * Subjects.lag(group), core NATS: a lost report is replaced by the next one). Ingestion's admission control
 * reads them. Nothing is sent while the replica runs no partition consumer.
 */
export class LagReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly member = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly runner: ConsumerRunner,
    private readonly publisher: Publisher,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.report(), LAG_REPORT_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  report(nowMs = Date.now()): void {
    const byGroup = new Map<string, LagReport['partitions']>();
    for (const lag of this.runner.lag(nowMs)) {
      if (!lag.of) continue;
      let partitions = byGroup.get(lag.of.group);
      if (!partitions) byGroup.set(lag.of.group, (partitions = []));
      partitions.push({
        partition: lag.of.partition,
        oldestAgeMs: Math.round(lag.oldestAgeS * 1000),
        pending: lag.pending,
      });
    }
    for (const [group, partitions] of byGroup) {
      const report: LagReport = { group, member: this.member, atMs: nowMs, partitions };
      // No trace context: a report belongs to no event.
      this.publisher.nc.publish(Subjects.lag(group), JSON.stringify(report));
    }
  }
}
