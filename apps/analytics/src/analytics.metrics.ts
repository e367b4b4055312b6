import { Injectable } from '@nestjs/common';
import { meter } from '@nunchi/telemetry';
import { CampaignStatsAggregator } from './campaign-stats.js';

/**
 * What analytics has counted, on /metrics: read from the aggregator at each scrape (one snapshot for all
 * instruments), so that the aggregator stays pure and the hot path pays nothing. The counts include the
 * replay of both streams at start, so they restart from the streams' contents, not from zero.
 */
@Injectable()
export class AnalyticsMetrics {
  constructor(stats: CampaignStatsAggregator) {
    const m = meter();
    const events = m.createObservableCounter('nunchi_analytics_events_counted_total', {
      description: 'distinct events analytics has counted (EVENTS stream)',
    });
    const decisions = m.createObservableCounter('nunchi_analytics_decisions_counted_total', {
      description:
        'distinct campaign decisions analytics has counted (DECISIONS stream), by campaign and outcome',
    });
    m.addBatchObservableCallback(
      (r) => {
        const snapshot = stats.snapshot();
        r.observe(events, snapshot.events.total);
        for (const c of snapshot.campaigns) {
          const late = c.late;
          const other = c.decisions - c.offers - c.control - late;
          for (const [outcome, n] of Object.entries({ offer: c.offers, control: c.control, late, other }))
            r.observe(decisions, n, { campaign: c.campaignId, outcome });
        }
      },
      [events, decisions],
    );
  }
}
