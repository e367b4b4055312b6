import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { SharedBucketState } from '@nunchi/access';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { isSubjectToken, type IngestReply } from '@nunchi/contracts/core';
import { JetStreamRecords, NATS_CONNECTION, SharedRateLimiter, type RateAnswer } from '@nunchi/messaging';
import { meter } from '@nunchi/telemetry';
import type { NatsConnection } from '@nats-io/transport-node';
import { ThrottledLog } from './throttled-log.js';

/** milliseconds per request to the shared buckets: a message that waits for a draw waits at most this */
const STORE_TIMEOUT_MS = 1_000;

/**
 * Rate limits per adapter that hold across ingestion replicas (docs/security.md, "Rate limits per adapter"):
 * on the NATS door an adapter is its channel (its NATS identity may publish on mkt.in.<channel>.> only), on
 * the HTTP door its API key. One shared token bucket per adapter, in LEASES (SharedRateLimiter).
 */
@Injectable()
export class AdapterRateLimit {
  private readonly logger = new Logger('rate-limit');
  private readonly limiter: SharedRateLimiter;
  private readonly storeErrors = new ThrottledLog(
    this.logger,
    'the shared rate buckets could not be read: each replica limits adapters on its own meanwhile',
  );
  private readonly refused = meter().createCounter('nunchi_ingestion_rate_limited_total', {
    description:
      'messages refused RATE_LIMITED: an adapter over its rate, all ingestion replicas together (door: nats, by channel; http, by API key)',
  });
  private readonly fallbacks = meter().createCounter('nunchi_ingestion_rate_limit_store_errors_total', {
    description:
      'draws from the shared rate buckets that failed: the replica then limits each adapter alone, at the whole rate, for a second',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    @Inject(NATS_CONNECTION) nc: NatsConnection,
  ) {
    this.limiter = new SharedRateLimiter(new JetStreamRecords<SharedBucketState>(nc, STORE_TIMEOUT_MS), {
      keyOf: (scope) => `ingestion.rate.${scope}`,
      onStoreError: (scope, error) => {
        this.fallbacks.add(1);
        this.storeErrors.add(`${scope}: ${error.message}`);
      },
    });
  }

  /** events per second of a channel's adapters (0: no limit) */
  rateOfChannel(channel: string): number {
    return this.config.domain.adapterRates[channel] ?? this.config.domain.adapterRatePerSecond;
  }

  /** A message on mkt.in.<channel>.>: admitted, or the RATE_LIMITED answer (a promise only when it waits for a draw). */
  admitChannel(channel: string): undefined | IngestReply | Promise<undefined | IngestReply> {
    const rate = this.rateOfChannel(channel);
    // A subject token that is no channel (validation refuses it after this) shares one bucket: a spray of
    // made-up channels makes no bucket each.
    const scope = isSubjectToken(channel) ? `channel.${channel}` : 'not-a-channel';
    return this.answer(this.limiter.admit(scope, rate), (retryAfterMs) => {
      this.refused.add(1, { door: 'nats', channel });
      return rateLimited(
        `adapters of channel ${channel} are over their rate of ${rate} events/s (all ingestion replicas together): nothing was stored, send it again in ${retryAfterMs} ms`,
        retryAfterMs,
      );
    });
  }

  /** A request to POST /v1/events by an API key (or token): admitted, or the RATE_LIMITED answer. */
  admitKey(
    caller: { kind: string; id: string; ratePerSecond: number },
    label: string,
  ): Promise<undefined | IngestReply> {
    const rate = caller.ratePerSecond;
    // A key id is a subject token; a token's subject may be anything, so it is hashed into one.
    const scope =
      caller.kind === 'key'
        ? `key.${caller.id}`
        : `token.${createHash('sha256').update(caller.id).digest('hex').slice(0, 32)}`;
    return Promise.resolve(
      this.answer(this.limiter.admit(scope, rate), (retryAfterMs) => {
        this.refused.add(1, { door: 'http' });
        return rateLimited(
          `${label} is over its rate of ${rate} requests/s on the event door (all ingestion replicas together): nothing was stored, retry in ${retryAfterMs} ms`,
          retryAfterMs,
        );
      }),
    );
  }

  private answer(
    answer: RateAnswer | Promise<RateAnswer>,
    refuse: (retryAfterMs: number) => IngestReply,
  ): undefined | IngestReply | Promise<undefined | IngestReply> {
    const map = (a: RateAnswer) => (a.ok ? undefined : refuse(a.retryAfterMs));
    return answer instanceof Promise ? answer.then(map) : map(answer);
  }
}

const rateLimited = (message: string, retryAfterMs: number): IngestReply => ({
  ok: false,
  error: { code: 'RATE_LIMITED', message, details: [], retryAfterMs },
});
