import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { Subjects } from '@nunchi/contracts';
import { decodeJson, NATS_CONNECTION } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';

/** Profiles changed outside the event flow (import, erasure): drop them from the hot tier; the next read refills. */
@Injectable()
export class CustomersChangedListener implements OnApplicationBootstrap {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly cache: CustomerStateCache,
  ) {}

  onApplicationBootstrap(): void {
    this.nc.subscribe(Subjects.customersChanged, {
      callback: (_error, msg) => {
        try {
          const { ids } = decodeJson(msg.data) as { ids?: unknown };
          if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') this.cache.evict(id);
        } catch {
          // A malformed hint is ignored: the cache stays correct for event-driven changes either way.
        }
      },
    });
  }
}
