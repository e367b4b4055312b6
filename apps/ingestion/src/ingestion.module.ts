import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CassandraModule } from '@nunchi/cassandra';
import { ConfigModule, type NunchiConfig } from '@nunchi/config';
import { MessagingModule } from '@nunchi/messaging';
import { HealthModule } from '@nunchi/telemetry';
import { CustomersChangedListener } from './customers-changed.listener.js';
import { Admission } from './admission.js';
import { CustomerChanges } from './customer-changes.js';
import { EventsController } from './events.controller.js';
import { IngestionHttpErrorFilter } from './http-error.filter.js';
import { IdentityRepository } from './identity.repository.js';
import { InboundListener } from './inbound.listener.js';
import { IngestEventUseCase } from './ingest-event.usecase.js';

@Module({})
export class IngestionModule {
  static forRoot(config: NunchiConfig): DynamicModule {
    return {
      module: IngestionModule,
      imports: [ConfigModule.forRoot(config), HealthModule, MessagingModule, CassandraModule],
      controllers: [EventsController],
      providers: [
        Admission,
        CustomerChanges,
        IdentityRepository,
        IngestEventUseCase,
        InboundListener,
        CustomersChangedListener,
        { provide: APP_FILTER, useClass: IngestionHttpErrorFilter },
      ],
    };
  }
}
