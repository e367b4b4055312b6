import { AuthModule } from '@nunchi/auth';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import {
  ActiveCustomersRepository,
  CampaignRepository,
  DecisionRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { CassandraModule, CQL_CLIENT, customerKeyProviders } from '@nunchi/cassandra/nest';
import { ConfigModule } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Streams } from '@nunchi/contracts/core';
import { MessagingModule } from '@nunchi/messaging';
import { HttpErrorFilter } from '@nunchi/telemetry/nest';
import { HealthModule } from '@nunchi/telemetry/service';
import { BudgetClaims } from './budget-claims.js';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { OfferChooser } from './choose-offer.js';
import { ContactClaims } from './contact-claims.js';
import { DecideUseCase } from './decide.usecase.js';
import { DecisionsController } from './decisions.controller.js';
import { LedgerCache } from './ledger-cache.js';
import { CustomerWarmUp } from './customer-warm-up.js';
import { DecisionMessagesController } from './decision-messages.controller.js';

@Module({})
export class DecisionModule {
  static forRoot(config: NunchiConfig): DynamicModule {
    return {
      module: DecisionModule,
      imports: [
        ConfigModule.forRoot(config),
        HealthModule,
        MessagingModule.forRoot({ consumes: [Streams.ENRICHED.name] }),
        CassandraModule,
        AuthModule,
      ],
      controllers: [DecisionsController, DecisionMessagesController],
      providers: [
        { provide: APP_FILTER, useValue: new HttpErrorFilter() },
        {
          provide: CampaignRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new CampaignRepository(c),
        },
        {
          provide: ActiveCustomersRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new ActiveCustomersRepository(c),
        },
        {
          provide: DecisionRepository,
          inject: [CQL_CLIENT],
          useFactory: (c: CqlClient) => new DecisionRepository(c),
        },
        CampaignSetHolder,
        // customers' data keys: ENRICHED's personal part is sealed under them (crypto-shredding); warmed per
        // partition gained, by CustomerWarmUp, not for every partition at start
        ...customerKeyProviders({ warmUp: false }),
        BudgetClaims,
        {
          provide: ContactClaims,
          inject: [DecisionRepository],
          useFactory: (r: DecisionRepository) =>
            new ContactClaims(
              r,
              new LedgerCache(
                config.domain.ledgerCacheMaxEntries,
                config.domain.ledgerCacheMaxMiB * 1024 * 1024,
              ),
            ),
        },
        // the data keys and ledgers of a gained partition's recent customers, ahead of their next decisions
        CustomerWarmUp,
        OfferChooser,
        DecideUseCase,
      ],
    };
  }
}
