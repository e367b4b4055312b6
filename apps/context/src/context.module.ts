import { AuthModule } from '@nunchi/auth';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import {
  ActiveCustomersRepository,
  CampaignRepository,
  ContextRepository,
  CustomerKeyring,
  CustomerRepository,
  DecisionRepository,
  ErasureRepository,
  MergeRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { CampaignSetHolder, CassandraModule, CQL_CLIENT, customerKeyProviders } from '@nunchi/cassandra/nest';
import { ConfigModule } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Streams } from '@nunchi/contracts/core';
import { MessagingModule } from '@nunchi/messaging';
import { HttpErrorFilter } from '@nunchi/telemetry/nest';
import { HealthModule } from '@nunchi/telemetry/service';
import { AbsenceTimers } from './absence-timers.js';
import { ApplyEventUseCase } from './apply-event.usecase.js';
import { ContextStatsController } from './context-stats.controller.js';
import { ContextMessagesController } from './context-messages.controller.js';
import { EventsController } from './events.controller.js';
import { ContextDlqSealer } from './dlq-sealer.js';
import { HotTierPartitions } from './hot-tier-partitions.js';
import { HotTierPreload } from './hot-tier-preload.js';
import { ContextController } from './context.controller.js';
import { CustomerStateCache } from './customer-state.cache.js';
import { EraseCustomerUseCase } from './erase-customer.usecase.js';
import { GetContextUseCase } from './get-context.usecase.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';
import { MergeCustomersUseCase } from './merge-customers.usecase.js';
import { UnlinkCustomerUseCase } from './unlink-customer.usecase.js';

const DAY_S = 86_400;

@Module({})
export class ContextModule {
  static forRoot(config: NunchiConfig): DynamicModule {
    return {
      module: ContextModule,
      imports: [
        ConfigModule.forRoot(config),
        HealthModule,
        MessagingModule.forRoot({ consumes: [Streams.EVENTS.name] }),
        CassandraModule,
        AuthModule,
      ],
      controllers: [ContextController, ContextStatsController, EventsController, ContextMessagesController],
      providers: [
        { provide: APP_FILTER, useValue: new HttpErrorFilter() },
        {
          provide: CustomerRepository,
          inject: [CQL_CLIENT, CustomerKeyring],
          // profiles are sealed under the customers' data keys, as their history is
          useFactory: (c: CqlClient, keys: CustomerKeyring) => new CustomerRepository(c, keys),
        },
        {
          provide: ErasureRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new ErasureRepository(c),
        },
        {
          provide: DecisionRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new DecisionRepository(c),
        },
        {
          provide: MergeRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new MergeRepository(c),
        },
        {
          provide: ContextRepository,
          inject: [CQL_CLIENT, CustomerKeyring],
          useFactory: (c: CqlClient, keys: CustomerKeyring) =>
            new ContextRepository(c, config.domain.eventTtlDays * DAY_S, keys),
        },
        {
          provide: ActiveCustomersRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new ActiveCustomersRepository(c),
        },
        {
          provide: CampaignRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new CampaignRepository(c),
        },
        // The active campaigns: the event patterns to fold (docs/patterns.md) and the context parts ENRICHED
        // carries; reloaded on the change hint (ContextMessagesController) and polled.
        CampaignSetHolder,
        AbsenceTimers,
        CustomerStateCache,
        // customers' data keys: what context publishes on ENRICHED is sealed under them (crypto-shredding)
        // no warm-up of the keys: the hot tier's preload reads those of the customers it loads
        ...customerKeyProviders({ warmUp: false }),
        LoadCustomerStateUseCase,
        ApplyEventUseCase,
        MergeCustomersUseCase,
        UnlinkCustomerUseCase,
        GetContextUseCase,
        EraseCustomerUseCase,
        HotTierPartitions,
        HotTierPreload,
        ContextDlqSealer,
      ],
    };
  }
}
