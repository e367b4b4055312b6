import { Inject, Injectable } from '@nestjs/common';
import type { AnalyticsRepository, DecisionRowKey } from '@nunchi/cassandra';
import {
  attribute,
  attributionRange,
  conversionWriteTimestamp,
  exposureShardOf,
  exposureWriteTimestamp,
} from '@nunchi/analytics-model';
import { ANALYTICS_REPOSITORY } from './tokens.js';

/**
 * Recomputes a decision's or an exposure's conversion from the purchases stored so far and writes it at a
 * timestamp that grows with what it saw (libs/analytics-model attribution.ts). Both the decision and the
 * purchase handler call it AFTER storing their own fact: whichever of a decision and a purchase of the same
 * customer is stored second sees the first, so no order loses a conversion.
 */
@Injectable()
export class Attribution {
  constructor(@Inject(ANALYTICS_REPOSITORY) private readonly repository: AnalyticsRepository) {}

  async refreshDecision(key: DecisionRowKey, decidedAtMs: number, windowDays: number): Promise<void> {
    const { afterMs, untilMs } = attributionRange(decidedAtMs, windowDays);
    const purchases = await this.repository.purchasesBetween(key.customerId, afterMs, untilMs);
    const a = attribute(decidedAtMs, windowDays, purchases);
    await this.repository.writeDecisionConversion(
      key,
      a.converted,
      a.revenue,
      conversionWriteTimestamp(a.purchases),
    );
  }

  async refreshExposure(campaignId: string, customerId: string): Promise<void> {
    const shard = exposureShardOf(customerId);
    const exposure = await this.repository.exposureOf(campaignId, shard, customerId);
    if (!exposure) return;
    const { afterMs, untilMs } = attributionRange(exposure.firstAtMs, exposure.windowDays);
    const purchases = await this.repository.purchasesBetween(customerId, afterMs, untilMs);
    const a = attribute(exposure.firstAtMs, exposure.windowDays, purchases);
    await this.repository.writeExposureConversion(
      campaignId,
      shard,
      customerId,
      a.converted,
      a.revenue,
      exposureWriteTimestamp(exposure.firstAtMs, a.purchases),
    );
  }
}
