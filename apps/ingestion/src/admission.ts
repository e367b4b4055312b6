import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { LagReport } from '@nunchi/contracts/core';
import { behindFromMs, LagBoard } from '@nunchi/messaging';
import { meter } from '@nunchi/telemetry';

export type Admit = { ok: true } | { ok: false; lagMs: number; retryAfterMs: number };

/**
 * The share of a partition's new events refused at a lag of `lagMs`: none up to half the bound, all of them
 * past it, and in between in proportion. A proportional share rather than all-or-nothing at the bound because
 * the lag reports arrive every 500 ms: a door that switches a partition wholly off and on swings between a
 * backlog and idle consumers. With a share that follows the lag, the door settles where what it admits is
 * what the consumers do, the lag between half the bound and it.
 */
export function refusalShare(lagMs: number, maxLagMs: number): number {
  if (maxLagMs <= 0) return 0;
  const startMs = behindFromMs(maxLagMs);
  if (lagMs <= startMs) return 0;
  if (lagMs >= maxLagMs) return 1;
  return (lagMs - startMs) / (maxLagMs - startMs);
}

/**
 * Admission control: past capacity, an event that would wait behind a backlog reaches the decision after
 * its deadline, so its offer is lost anyway — and accepting it makes the backlog longer for everything after
 * it. So while a partition's context or decision consumer holds a message older than half of
 * NUNCHI_ADMISSION_MAX_LAG_MS, a share of that partition's new events (refusalShare: all of them past the
 * bound) is refused with OVERLOADED_RETRY and a `retryAfterMs`: what is accepted is processed in time and gets
 * its offer. The share is applied evenly — every k-th event of the partition, not at random — so a few seconds
 * get exactly their share. The adapter keeps a refused event and sends it again later (it then counts in the
 * customer's context, late). Lag comes from the consumers' own reports (LagBoard, through
 * IngestionMessagesController); 0 turns admission control off.
 */
@Injectable()
export class Admission {
  private readonly maxLagMs: number;
  private readonly lag = new LagBoard();
  /** partition → refusals owed (error diffusion: each event adds the partition's share; a whole one refuses) */
  private readonly owed = new Map<number, number>();
  private readonly refused = meter().createCounter('nunchi_ingestion_overloaded_total', {
    description:
      'events refused with OVERLOADED_RETRY: their partition was behind (past half of NUNCHI_ADMISSION_MAX_LAG_MS, a share of them; past it, all)',
  });

  constructor(@Inject(CONFIG) config: NunchiConfig) {
    this.maxLagMs = config.domain.admissionMaxLagMs;
  }

  /** A replica's report replaces its previous one. */
  receive(report: LagReport): void {
    if (this.maxLagMs > 0) this.lag.receive(report);
  }

  /** Whether an event for this partition is admitted now. */
  admit(partition: number, nowMs = Date.now()): Admit {
    if (this.maxLagMs === 0) return { ok: true };
    const lagMs = this.lag.lagOf(partition, nowMs);
    const share = refusalShare(lagMs, this.maxLagMs);
    if (share === 0) {
      this.owed.delete(partition);
      return { ok: true };
    }
    const owed = (this.owed.get(partition) ?? 0) + share;
    if (owed < 1) {
      this.owed.set(partition, owed);
      return { ok: true };
    }
    this.owed.set(partition, owed - 1);
    this.refused.add(1);
    // Roughly when the backlog ahead will have drained to where refusals stop, within reason.
    return {
      ok: false,
      lagMs,
      retryAfterMs: Math.min(10_000, Math.max(250, lagMs - behindFromMs(this.maxLagMs))),
    };
  }
}
