import { Injectable } from '@nestjs/common';
import type { Counter } from '@opentelemetry/api';
import { meter } from '@nunchi/telemetry';
import type { RefusalReason } from './refusal.js';

/** Refusals at the HTTP door, on /metrics: `nunchi_http_auth_refusals_total{reason, status}`. */
@Injectable()
export class AuthMetrics {
  private readonly refusals: Counter = meter().createCounter('nunchi_http_auth_refusals_total', {
    description:
      'HTTP requests refused before any handler ran: no or bad credentials (401), a role without the permission (403), over the rate (429), by reason',
  });

  refused(reason: RefusalReason, status: number): void {
    this.refusals.add(1, { reason, status: String(status) });
  }
}
