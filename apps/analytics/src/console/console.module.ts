import { Module, type DynamicModule } from '@nestjs/common';
import { CampaignStatsAggregator } from '../campaign-stats.js';
import { ConsoleController } from './console.controller.js';
import { DlqReader } from './dlq-reader.js';
import { LiveFeed } from './live-feed.js';
import { ServiceReaders } from './service-readers.js';

/**
 * The web console's own API (its pages are static files, serve-console.ts). Needs from its host:
 * CQL_CLIENT, StreamReader and CONFIG (global), and the statistics it samples.
 */
@Module({})
export class ConsoleModule {
  /** `stats`: the statistics the service keeps (the live figures sample them) */
  static forRoot(stats: CampaignStatsAggregator): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [ConsoleController],
      providers: [{ provide: CampaignStatsAggregator, useValue: stats }, LiveFeed, DlqReader, ServiceReaders],
    };
  }
}
