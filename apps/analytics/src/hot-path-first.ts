import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { LagReport } from '@nunchi/contracts/core';
import { behindFromMs, LagBoard } from '@nunchi/messaging';
import { meter } from '@nunchi/telemetry';

/**
 * Analytics yields to the hot path. Its work (counting events, attributing conversions) can come seconds late
 * without harm, but on the machines it shares with the hot path — CPU, Cassandra, NATS — it competes with
 * offers that cannot: under overload, analytics took about a fifth of a core of its own (bench, 600 events/s,
 * two cores for everything) and more again in the Cassandra requests and NATS deliveries it causes. So while a context or decision consumer is
 * behind by more than half of NUNCHI_ADMISSION_MAX_LAG_MS — the lag at which ingestion starts refusing events —
 * each analytics handler waits, up to NUNCHI_ANALYTICS_YIELD_MAX_MS, before it does its work: the messages
 * stay unacknowledged in EVENTS and DECISIONS (nothing is lost), and analytics catches up once the hot path
 * has. Lag comes from the same reports admission control reads (LagBoard); a replica that stopped reporting
 * does not hold analytics back.
 */
@Injectable()
export class HotPathFirst {
  private readonly lag = new LagBoard();
  private readonly behindMs: number;
  private readonly maxWaitMs: number;
  private readonly yielded = meter().createCounter('nunchi_analytics_yielded_seconds_total', {
    description:
      'seconds analytics handlers waited for the hot path to catch up (summed over concurrent handlers)',
    unit: 's',
  });

  constructor(@Inject(CONFIG) config: NunchiConfig) {
    this.behindMs = behindFromMs(config.domain.admissionMaxLagMs);
    this.maxWaitMs = config.domain.analyticsYieldMaxMs;
    this.yielded.add(0);
  }

  /** A context or decision replica's lag report. */
  receive(report: LagReport): void {
    this.lag.receive(report);
  }

  /** Resolves at once while the hot path keeps up; else when it has caught up, or after the longest wait. */
  async turn(): Promise<void> {
    const waitedMs = await this.lag.untilCaughtUp(this.behindMs, this.maxWaitMs);
    if (waitedMs > 0) this.yielded.add(waitedMs / 1000);
  }
}
