import { Module } from '@nestjs/common';
import { CQL_CLIENT } from '@nunchi/cassandra/nest';
import type { CqlClient } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Subjects } from '@nunchi/contracts/core';
import { NatsClient, type MessageClient } from '@nunchi/messaging';
import { lastValueFrom } from 'rxjs';
import { campaignPorts } from '@nunchi/operations';
import { CampaignLifecycleController } from './campaign-lifecycle.controller.js';
import { CampaignsController } from './campaigns.controller.js';
import { SimulationJobs } from './simulation-jobs.js';
import { SimulationsController } from './simulations.controller.js';
import { CAMPAIGN_PORTS } from './tokens.js';

/**
 * The campaigns API (docs/campaigns.md, "HTTP API"): the marketers' lifecycle over HTTP, for the console.
 * Self-contained: it needs CQL_CLIENT, NatsClient and CONFIG from its host, and could move to a
 * service of its own unchanged (docs/architecture.md, "The campaigns API").
 */
@Module({
  controllers: [CampaignsController, CampaignLifecycleController, SimulationsController],
  providers: [
    {
      provide: CAMPAIGN_PORTS,
      inject: [CQL_CLIENT, NatsClient, CONFIG],
      useFactory: (cql: CqlClient, client: MessageClient, config: NunchiConfig) =>
        campaignPorts(cql, config.domain, async (id, version) => {
          // The hint decision replicas reload on (they also poll every 5 s, so a lost hint heals).
          await lastValueFrom(client.emit(Subjects.campaignsChanged, { id, version }));
        }),
    },
    SimulationJobs,
  ],
})
export class CampaignsModule {}
