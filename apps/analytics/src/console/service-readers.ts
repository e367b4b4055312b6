import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { Bucket } from './live-figures.js';
import { histogramBuckets, parseExposition } from './prometheus-text.js';

/** how long the console waits for another service, milliseconds */
const TIMEOUT_MS = 2_000;

/**
 * What the console reads from the other services over HTTP (never on their hot path: a scrape of
 * /metrics once a second while someone watches, a customer's context when a page asks).
 */
@Injectable()
export class ServiceReaders {
  constructor(@Inject(CONFIG) private readonly config: NunchiConfig) {}

  /**
   * The decision service's `nunchi_event_to_offer_ms` buckets for offers (cumulative since it started), or
   * undefined when it does not answer. One replica's: with several, NUNCHI_DECISION_URL names one of them.
   */
  async eventToOfferBuckets(): Promise<Bucket[] | undefined> {
    try {
      const response = await fetch(`${this.config.console.decisionUrl}/metrics`, {
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!response.ok) return undefined;
      return histogramBuckets(parseExposition(await response.text()), 'nunchi_event_to_offer_ms', {
        outcome: 'offer',
      });
    } catch {
      return undefined;
    }
  }

  /**
   * The context service's answer for a customer: its status and JSON body, relayed as they are. The console's
   * caller's credential goes along: the context service judges it (customers.read) as if asked directly.
   */
  async customerContext(
    customerId: string,
    credential: string | undefined,
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(
      `${this.config.console.contextUrl}/v1/customers/${encodeURIComponent(customerId)}/context`,
      {
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: credential ? { authorization: `Bearer ${credential}` } : {},
      },
    );
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  /** A decision's trace in the trace backend. */
  traceUrl(traceId: string): string | undefined {
    return traceId
      ? this.config.console.traceUrl.replace('{traceId}', encodeURIComponent(traceId))
      : undefined;
  }
}
