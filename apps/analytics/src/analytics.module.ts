import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CassandraModule } from '@nunchi/cassandra';
import { ConfigModule, type NunchiConfig } from '@nunchi/config';
import { Streams } from '@nunchi/contracts';
import { MessagingModule } from '@nunchi/messaging';
import { HealthModule, HttpErrorFilter } from '@nunchi/telemetry';
import { AnalyticsMetrics } from './analytics.metrics.js';
import { CampaignStatsAggregator } from './campaign-stats.js';
import { CampaignsModule } from './campaigns/campaigns.module.js';
import { ConsoleModule } from './console/console.module.js';
import { StatsController } from './stats.controller.js';
import { AnalyticsMessagesController } from './analytics-messages.controller.js';

@Module({})
export class AnalyticsModule {
  static forRoot(config: NunchiConfig): DynamicModule {
    const stats = new CampaignStatsAggregator();
    return {
      module: AnalyticsModule,
      // CassandraModule and CampaignsModule: the campaigns API (docs/architecture.md, "The campaigns API").
      imports: [
        ConfigModule.forRoot(config),
        HealthModule,
        MessagingModule.forRoot({ consumes: [Streams.EVENTS.name, Streams.DECISIONS.name] }),
        CassandraModule,
        CampaignsModule,
        ConsoleModule.forRoot(stats),
      ],
      controllers: [StatsController, AnalyticsMessagesController],
      providers: [
        { provide: APP_FILTER, useValue: new HttpErrorFilter() },
        { provide: CampaignStatsAggregator, useValue: stats },
        AnalyticsMetrics,
      ],
    };
  }
}
