import { AuthModule } from '@nunchi/auth';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CassandraModule } from '@nunchi/cassandra/nest';
import { ConfigModule } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Streams } from '@nunchi/contracts/core';
import { MessagingModule } from '@nunchi/messaging';
import { HttpErrorFilter } from '@nunchi/telemetry/nest';
import { HealthModule } from '@nunchi/telemetry/service';
import { AnalyticsMetrics } from './analytics.metrics.js';
import { CampaignsModule } from './campaigns/campaigns.module.js';
import { ConsoleModule } from './console/console.module.js';
import { AuditController } from './access/audit.controller.js';
import { KeysController } from './access/keys.controller.js';
import { StatsController } from './stats.controller.js';
import { AnalyticsMessagesController } from './analytics-messages.controller.js';
import { HotPathFirst } from './hot-path-first.js';
import { AnalyticsStateModule } from './state/analytics-state.module.js';

@Module({})
export class AnalyticsModule {
  static forRoot(config: NunchiConfig): DynamicModule {
    return {
      module: AnalyticsModule,
      // CassandraModule: analytics state (docs/analytics.md) and the campaigns API (docs/architecture.md).
      imports: [
        ConfigModule.forRoot(config),
        HealthModule,
        MessagingModule.forRoot({ consumes: [Streams.EVENTS.name, Streams.DECISIONS.name] }),
        CassandraModule,
        AuthModule,
        AnalyticsStateModule,
        CampaignsModule,
        ConsoleModule,
      ],
      controllers: [StatsController, KeysController, AuditController, AnalyticsMessagesController],
      providers: [{ provide: APP_FILTER, useValue: new HttpErrorFilter() }, AnalyticsMetrics, HotPathFirst],
    };
  }
}
