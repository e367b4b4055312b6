import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { LagReport } from '@nunchi/contracts/core';
import { meter } from '@nunchi/telemetry';

/** milliseconds after which a replica's lag report no longer counts (it stopped, or lost the partition) */
const REPORT_TTL_MS = 2_000;

export type Admit = { ok: true } | { ok: false; lagMs: number; retryAfterMs: number };

/**
 * Admission control: past capacity, an event that would wait behind a backlog reaches the decision after
 * its deadline, so its offer is lost anyway — and accepting it makes the backlog longer for everything after
 * it. So while a partition's context or decision consumer holds a message older than
 * NUNCHI_ADMISSION_MAX_LAG_MS, new events for that partition are refused with OVERLOADED_RETRY and a
 * `retryAfterMs`: nothing is accepted that is not processed in time, and what is accepted gets its offer.
 * The adapter keeps the event and sends it again later (it then counts in the customer's context, late).
 * Lag comes from the consumers' own reports (LagReport, every 500 ms, through IngestionMessagesController);
 * 0 turns admission control off.
 */
@Injectable()
export class Admission {
  private readonly maxLagMs: number;
  /** `<group>/<member>` → its latest report */
  private readonly reports = new Map<string, LagReport>();
  /** partition → the largest oldestAgeMs over live reports, and when that was computed */
  private lagByPartition = new Map<number, number>();
  private computedAt = -Infinity;
  private readonly refused = meter().createCounter('nunchi_ingestion_overloaded_total', {
    description:
      'events refused with OVERLOADED_RETRY: their partition was behind NUNCHI_ADMISSION_MAX_LAG_MS',
  });

  constructor(@Inject(CONFIG) config: NunchiConfig) {
    this.maxLagMs = config.domain.admissionMaxLagMs;
  }

  /** A replica's report replaces its previous one. */
  receive(report: LagReport): void {
    if (this.maxLagMs === 0) return;
    if (typeof report?.group === 'string' && Array.isArray(report.partitions)) {
      this.reports.set(`${report.group}/${report.member}`, report);
      this.computedAt = -Infinity;
    }
  }

  /** Whether an event for this partition is admitted now. */
  admit(partition: number, nowMs = Date.now()): Admit {
    if (this.maxLagMs === 0) return { ok: true };
    if (nowMs - this.computedAt > 100) this.compute(nowMs);
    const lagMs = this.lagByPartition.get(partition) ?? 0;
    if (lagMs <= this.maxLagMs) return { ok: true };
    this.refused.add(1);
    // Roughly when the backlog ahead will have drained below the bound, within reason.
    return { ok: false, lagMs, retryAfterMs: Math.min(10_000, Math.max(250, lagMs - this.maxLagMs)) };
  }

  private compute(nowMs: number): void {
    const lag = new Map<number, number>();
    for (const [key, report] of this.reports) {
      if (nowMs - report.atMs > REPORT_TTL_MS) {
        this.reports.delete(key);
        continue;
      }
      for (const p of report.partitions)
        if (p.oldestAgeMs > (lag.get(p.partition) ?? 0)) lag.set(p.partition, p.oldestAgeMs);
    }
    this.lagByPartition = lag;
    this.computedAt = nowMs;
  }
}
