import { Injectable } from '@nestjs/common';
import { meter } from '@nunchi/telemetry';
import { EventCounts } from './state/event-counts.js';

/**
 * What analytics has handled, on /metrics: events by channel and campaign decisions by outcome since the
 * process started (the console's events/s). Campaign figures are not metrics: they live in Cassandra (GET /v1/stats).
 */
@Injectable()
export class AnalyticsMetrics {
  constructor(counts: EventCounts) {
    const m = meter();
    m.createObservableCounter('nunchi_analytics_events_counted_total', {
      description: 'events analytics has handled since it started (EVENTS stream), by channel',
    }).addCallback((r) => {
      for (const [channel, n] of Object.entries(counts.byChannel)) r.observe(n, { channel });
    });
    m.createObservableCounter('nunchi_analytics_decisions_counted_total', {
      description:
        'campaign decisions analytics has handled since it started (DECISIONS stream), by campaign and outcome',
    }).addCallback((r) => {
      for (const [campaign, byOutcome] of counts.decisions)
        for (const [outcome, n] of Object.entries(byOutcome)) r.observe(n, { campaign, outcome });
    });
  }
}
