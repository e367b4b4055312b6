import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { Subjects } from '@nunchi/contracts';
import { decodeJson, NATS_CONNECTION } from '@nunchi/messaging';
import { IdentityRepository } from './identity.repository.js';

/**
 * Customers erased, imported or whose identifiers moved: drop what this replica cached about them, so the
 * change is seen at once. Every replica subscribes (no queue group). A lost hint is covered by the cache's TTL.
 */
@Injectable()
export class CustomersChangedListener implements OnApplicationBootstrap {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly identities: IdentityRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.nc.subscribe(Subjects.customersChanged, {
      callback: (_error, msg) => {
        try {
          const { ids } = decodeJson(msg.data) as { ids?: unknown };
          if (Array.isArray(ids)) this.identities.forget(ids.filter((id) => typeof id === 'string'));
        } catch {
          // A malformed hint is ignored: entries expire within NUNCHI_IDENTITY_CACHE_TTL_MS anyway.
        }
      },
    });
  }
}
