import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { ContextRepository, timerMinute } from '@nunchi/cassandra';
import { eventKey, Subjects, SYSTEM_CHANNEL } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { PartitionAssignments, Publisher } from '@nunchi/messaging';
import { ABSENCE_EVENT_TYPE, absenceEventId } from '@nunchi/rules';
import { latencyHistogram, withSpan } from '@nunchi/telemetry';
import { CONTEXT_GROUP } from './events.controller.js';

/** milliseconds between scans: a timer fires within about this plus one EVENTS round trip of its time */
const TICK_MS = 250;
/** minutes scanned back on a partition never scanned before (no cursor yet) */
const FIRST_LOOKBACK_MINUTES = 5;

/**
 * Fires the durable absence timers (docs/patterns.md) of the partitions this replica owns. Every tick it
 * reads, per owned partition, the minutes from the partition's cursor to now (`pattern_timers`, one small
 * partition per minute) and publishes each due timer onto EVENTS, on the customer's partition, as an
 * `absence` message (msgID: the synthetic event's key, eventKey). The context consumer then decides, in order with the
 * customer's own events, whether the timer is still the pending one (ApplyEventUseCase.fireTimer): a
 * purchase that cancelled it just before wins. The cursor moves past a minute once all its timers are
 * published, and is stored, so a replica taking the partition over starts where the last owner stopped.
 */
@Injectable()
export class AbsenceTimers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('absence-timers');
  private readonly lateness = latencyHistogram(
    'nunchi_absence_timer_lateness_ms',
    'milliseconds from an absence timer’s due time to its publication on EVENTS',
  );
  private timer?: NodeJS.Timeout;
  private scanning = false;
  /** partition → first minute not yet fully published */
  private readonly cursors = new Map<number, number>();
  /**
   * per partition, ids published in its cursor's minute (read again each tick until it is past). Per
   * partition: one partition moving its cursor must not forget what the others published in theirs.
   */
  private readonly published = new Map<number, Set<string>>();

  constructor(
    private readonly assignments: PartitionAssignments,
    private readonly history: ContextRepository,
    private readonly publisher: Publisher,
    private readonly campaigns: CampaignSetHolder,
  ) {}

  onApplicationBootstrap(): void {
    const group = this.assignments.group(CONTEXT_GROUP);
    // another owner may have moved the cursor meanwhile: read it again on every acquisition
    group.onChange({
      acquired: (p) => this.forget(p),
      released: (p) => this.forget(p),
    });
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  private forget(partition: number): void {
    this.cursors.delete(partition);
    this.published.delete(partition);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    // No read at all while no active campaign has an absence pattern; the cursors catch up afterwards.
    if (this.scanning || !this.campaigns.current?.statefulPatterns.some((p) => p.kind === 'absence')) return;
    this.scanning = true;
    try {
      const group = this.assignments.group(CONTEXT_GROUP);
      for (const partition of group.ownership.owned) await this.scan(partition, Date.now());
    } catch (error) {
      this.logger.warn(`scan failed (retried next tick): ${(error as Error).message}`);
    } finally {
      this.scanning = false;
    }
  }

  private async scan(partition: number, nowMs: number): Promise<void> {
    const nowMinute = timerMinute(nowMs);
    let minute = this.cursors.get(partition);
    if (minute === undefined) {
      minute = (await this.history.timerCursor(partition)) ?? nowMinute - FIRST_LOOKBACK_MINUTES;
      this.cursors.set(partition, minute);
    }
    let published = this.published.get(partition);
    if (!published) this.published.set(partition, (published = new Set()));
    for (; minute <= nowMinute; minute++) {
      const due = (await this.history.timersOfMinute(partition, minute)).filter((t) => t.dueMs <= nowMs);
      for (const t of due) {
        const id = absenceEventId(t.patternKey, t.anchorEventId);
        if (published.has(id)) continue;
        await this.publish(partition, id, t, nowMs);
        published.add(id);
      }
      if (minute === nowMinute) break; // later timers of this minute: next tick
      this.cursors.set(partition, minute + 1);
      await this.history.setTimerCursor(partition, minute + 1);
      published.clear();
    }
  }

  /** A due timer onto EVENTS, in a trace of its own. */
  private publish(
    partition: number,
    id: string,
    t: { dueMs: number; customerId: string; patternKey: string; anchorEventId: string },
    nowMs: number,
  ): Promise<unknown> {
    const message: AcceptedEvent = {
      id,
      type: ABSENCE_EVENT_TYPE as AcceptedEvent['type'],
      channel: SYSTEM_CHANNEL,
      occurredAt: new Date(t.dueMs).toISOString(),
      occurredAtMs: t.dueMs,
      receivedAtMs: nowMs,
      customerId: t.customerId,
      payload: { patternKey: t.patternKey, anchorEventId: t.anchorEventId },
    };
    this.lateness.record(nowMs - t.dueMs);
    return withSpan('context.absence_timer', { attributes: { 'nunchi.event.id': id } }, () =>
      this.publisher.persist(Subjects.event(partition, ABSENCE_EVENT_TYPE), message, {
        msgID: eventKey(message),
      }),
    );
  }
}
