import { Module } from '@nestjs/common';
import { AnalyticsStateModule } from '../state/analytics-state.module.js';
import { ConsoleController } from './console.controller.js';
import { DlqReader } from './dlq-reader.js';
import { LiveFeed } from './live-feed.js';
import { ServiceReaders } from './service-readers.js';
import { SessionController } from './session.controller.js';

/**
 * The web console's own API (its pages are static files, serve-console.ts). Needs from its host:
 * CQL_CLIENT, StreamReader and CONFIG (global); the figures come from AnalyticsStateModule (CampaignResults,
 * the same the stats API serves).
 */
@Module({
  imports: [AnalyticsStateModule],
  controllers: [ConsoleController, SessionController],
  providers: [LiveFeed, DlqReader, ServiceReaders],
})
export class ConsoleModule {}
