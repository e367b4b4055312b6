import { AuthModule } from '@nunchi/auth';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CassandraModule, CQL_CLIENT, customerKeyProviders } from '@nunchi/cassandra/nest';
import { DecisionRepository, type CqlClient } from '@nunchi/cassandra';
import { ConfigModule } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { MessagingModule } from '@nunchi/messaging';
import { HealthModule } from '@nunchi/telemetry/service';
import { AdapterRateLimit } from './adapter-rate-limit.js';
import { Admission } from './admission.js';
import { CustomerChanges } from './customer-changes.js';
import { EventsController } from './events.controller.js';
import { IngestionHttpErrorFilter } from './http-error.filter.js';
import { IdentityRepository } from './identity.repository.js';
import { IngestEventUseCase } from './ingest-event.usecase.js';
import { LinkIdentifiers } from './link-identifiers.js';
import { IngestionMessagesController } from './ingestion-messages.controller.js';

@Module({})
export class IngestionModule {
  static forRoot(config: NunchiConfig): DynamicModule {
    return {
      module: IngestionModule,
      imports: [
        ConfigModule.forRoot(config),
        HealthModule,
        MessagingModule.forRoot(),
        CassandraModule,
        AuthModule,
      ],
      controllers: [EventsController, IngestionMessagesController],
      providers: [
        AdapterRateLimit,
        Admission,
        CustomerChanges,
        IdentityRepository,
        LinkIdentifiers,
        IngestEventUseCase,
        // customers' data keys: each event's payload is sealed under its customer's on EVENTS (crypto-shredding);
        // an erased customer's is dropped with its identifiers (IdentityRepository), from the log CustomerChanges reads
        ...customerKeyProviders({ erasureLog: false }),
        {
          provide: DecisionRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new DecisionRepository(c),
        },
        { provide: APP_FILTER, useClass: IngestionHttpErrorFilter },
      ],
    };
  }
}
