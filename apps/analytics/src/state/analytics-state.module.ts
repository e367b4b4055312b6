import { Module } from '@nestjs/common';
import {
  AnalyticsRepository,
  CampaignRepository,
  DecisionRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { CQL_CLIENT, customerKeyProviders } from '@nunchi/cassandra/nest';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { CampaignResults, CampaignSettings } from '@nunchi/operations';
import { Attribution } from './attribution.js';
import { EventCounts } from './event-counts.js';
import { RecordDecision } from './record-decision.usecase.js';
import { RecordEvent } from './record-event.usecase.js';
import { ANALYTICS_REPOSITORY, CAMPAIGN_REPOSITORY, DECISION_REPOSITORY } from './tokens.js';

/**
 * Analytics state in Cassandra (docs/analytics.md): the use cases that write it from the streams and the
 * one reader of the figures (CampaignResults). Needs CQL_CLIENT and CONFIG from its host.
 */
@Module({
  providers: [
    // customers' data keys: EVENTS carries each payload sealed under its customer's (crypto-shredding)
    ...customerKeyProviders(),
    {
      provide: ANALYTICS_REPOSITORY,
      inject: [CQL_CLIENT],
      useFactory: (c: CqlClient) => new AnalyticsRepository(c),
    },
    {
      provide: DECISION_REPOSITORY,
      inject: [CQL_CLIENT],
      useFactory: (c: CqlClient) => new DecisionRepository(c),
    },
    {
      provide: CAMPAIGN_REPOSITORY,
      inject: [CQL_CLIENT],
      useFactory: (c: CqlClient) => new CampaignRepository(c),
    },
    {
      provide: CampaignSettings,
      inject: [CAMPAIGN_REPOSITORY],
      useFactory: (r: CampaignRepository) => new CampaignSettings(r),
    },
    {
      provide: CampaignResults,
      inject: [ANALYTICS_REPOSITORY, CampaignSettings, CONFIG],
      useFactory: (r: AnalyticsRepository, s: CampaignSettings, config: NunchiConfig) =>
        new CampaignResults(r, s, config.domain.timeZone),
    },
    Attribution,
    EventCounts,
    RecordDecision,
    RecordEvent,
  ],
  exports: [CampaignResults, EventCounts, RecordDecision, RecordEvent],
})
export class AnalyticsStateModule {}
