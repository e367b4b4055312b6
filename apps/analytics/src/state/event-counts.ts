import { Injectable } from '@nestjs/common';
import type { AcceptedEvent } from '@nunchi/contracts';

/**
 * Events and campaign decisions this analytics process has handled since it started: the source of the
 * live events/s (differences between samples) and of the nunchi_analytics_*_counted_total metrics. A rate
 * source, not a result: a redelivered message counts again, and the counts restart at zero with the process.
 * The results are CampaignResults'.
 */
@Injectable()
export class EventCounts {
  total = 0;
  readonly byType: Record<string, number> = {};
  readonly byChannel: Record<string, number> = {};
  /** campaign → outcome → decisions handled */
  readonly decisions = new Map<string, Record<string, number>>();

  add(event: Pick<AcceptedEvent, 'type' | 'channel'>): void {
    this.total++;
    this.byType[event.type] = (this.byType[event.type] ?? 0) + 1;
    this.byChannel[event.channel] = (this.byChannel[event.channel] ?? 0) + 1;
  }

  addDecision(campaignId: string, outcome: string): void {
    const byOutcome = this.decisions.get(campaignId) ?? {};
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
    this.decisions.set(campaignId, byOutcome);
  }

  snapshot(): { total: number; byType: Record<string, number>; byChannel: Record<string, number> } {
    return { total: this.total, byType: { ...this.byType }, byChannel: { ...this.byChannel } };
  }
}
