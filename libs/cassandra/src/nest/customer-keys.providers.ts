import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import { identityKeys, type NunchiConfig } from '@nunchi/config';
import type { CqlClient } from '../client.js';
import { CustomerKeyring } from '../customer-keyring.js';
import { ActiveCustomersRepository } from '../repositories/active-customers.repository.js';
import { CustomerKeyRepository } from '../repositories/customer-key.repository.js';
import { ErasureRepository } from '../repositories/erasure.repository.js';
import { CQL_CLIENT } from './cassandra.module.js';

/** milliseconds of erasure log read back on every poll: today's and yesterday's partitions */
const LOOK_BACK_MS = 86_400_000;

/**
 * Drops erased customers' data keys from this process's keyring within half NUNCHI_IDENTITY_CACHE_TTL_MS of
 * the erasure, hint or not: reads the erasure log (`erasures_by_day`, one small partition a day) as ingestion
 * does. An erasure answers no sooner than that TTL after its tombstone (settleMs), so once it has answered, no
 * replica opens the customer's sealed messages any more — even one that missed the customers-changed hint.
 */
@Injectable()
export class ErasedKeyEviction implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('data-keys');
  private readonly erasure: ErasureRepository;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(CQL_CLIENT) client: CqlClient,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly keyring: CustomerKeyring,
  ) {
    this.erasure = new ErasureRepository(client);
  }

  onApplicationBootstrap(): void {
    const intervalMs = Math.max(100, this.config.domain.identityCacheTtlMs / 2);
    this.timer = setInterval(() => void this.poll(), intervalMs).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async poll(): Promise<void> {
    try {
      const nowMs = Date.now();
      this.keyring.evict(await this.erasure.erasedSince(nowMs - LOOK_BACK_MS, nowMs));
    } catch (error) {
      this.logger.warn(`erasure log not read: ${(error as Error).message}`);
    }
  }
}

/**
 * Warms this process's keyring at start with the data keys of the customers active in the last
 * NUNCHI_PRELOAD_DAYS days, every partition (active_customers), in the background: their first events after a
 * restart or a deployment then cost no key read on the event's path. Context and decision leave it out: they
 * warm only the partitions they gain (context's hot-tier preload reads the keys of the customers it loads, 50 a request,
 * decision's CustomerWarmUp the keys and ledgers of each gained partition's customers).
 */
@Injectable()
export class KeyringWarmUp implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('data-keys');
  private readonly active: ActiveCustomersRepository;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    @Inject(CQL_CLIENT) client: CqlClient,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly keyring: CustomerKeyring,
  ) {
    this.active = new ActiveCustomersRepository(client);
  }

  onApplicationBootstrap(): void {
    if (this.config.domain.preloadDays > 0) this.running = this.warmUp();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async warmUp(): Promise<void> {
    const startedMs = performance.now();
    const { preloadDays: days, timeZone } = this.config.domain;
    let added = 0;
    try {
      for (let p = 0; p < this.config.nats.partitions && !this.stopped; p++) {
        const ids = await this.active.recent(p, days, timeZone);
        added += await this.keyring.preload(ids, { shouldStop: () => this.stopped });
      }
      this.logger.log(
        `data keys of ${added} customers active in the last ${days} days preloaded in ${Math.round(performance.now() - startedMs)} ms`,
      );
    } catch (error) {
      this.logger.warn(`data keys not preloaded (read on first use instead): ${(error as Error).message}`);
    }
  }
}

/**
 * The keyring of a service that seals (ingestion, context) or opens (context, decision, analytics) customers'
 * personal data. Ingestion and context, which create keys, also re-wrap a key found under a previous identity
 * key (rotation).
 */
export function customerKeyProviders(
  options: {
    /**
     * poll the erasure log to drop erased customers' keys (ErasedKeyEviction); @default true — false where the
     * service reads that log already and evicts from there (ingestion: CustomerChanges)
     */
    erasureLog?: boolean;
    /** read the keys of recently active customers at start (KeyringWarmUp); @default true */
    warmUp?: boolean;
  } = {},
): Provider[] {
  return [
    {
      provide: CustomerKeyRepository,
      inject: [CQL_CLIENT],
      useFactory: (c: CqlClient) => new CustomerKeyRepository(c),
    },
    {
      provide: CustomerKeyring,
      inject: [CustomerKeyRepository, CONFIG],
      useFactory: (r: CustomerKeyRepository, config: NunchiConfig) =>
        new CustomerKeyring(r, identityKeys(config), {
          maxEntries: config.domain.dataKeyCacheMaxEntries,
          // the services that read a customer's key first on each event: a rotation completes as customers come back
          rewrap: config.service === 'ingestion' || config.service === 'context',
        }),
    },
    ...(options.erasureLog === false ? [] : [ErasedKeyEviction]),
    ...(options.warmUp === false ? [] : [KeyringWarmUp]),
  ];
}
