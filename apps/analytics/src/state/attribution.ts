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

  /**
   * The conversions of these decisions of the customer (named by its analytics pseudonym) and of its exposures to these campaigns
   * (those recorded; none is no exposure), from one read of the customer's purchases over all their windows
   * (attribute() keeps each window's own), written together. After a purchase: the decisions whose window
   * holds it and their campaigns; after a decision: that one and its campaign.
   */
  async refreshConversions(
    pseudonym: string,
    decisions: ReadonlyArray<DecisionRowKey & { decidedAtMs: number; windowDays: number }>,
    campaignIds: readonly string[],
  ): Promise<void> {
    const shard = exposureShardOf(pseudonym);
    const exposures = (
      await Promise.all(
        campaignIds.map(async (campaignId) => {
          const exposure = await this.repository.exposureOf(campaignId, shard, pseudonym);
          return exposure && { campaignId, ...exposure };
        }),
      )
    ).filter((e) => e !== undefined);
    const windows = [
      ...decisions.map((d) => attributionRange(d.decidedAtMs, d.windowDays)),
      ...exposures.map((e) => attributionRange(e.firstAtMs, e.windowDays)),
    ];
    if (windows.length === 0) return;
    const purchases = await this.repository.purchasesBetween(
      pseudonym,
      Math.min(...windows.map((w) => w.afterMs)),
      Math.max(...windows.map((w) => w.untilMs)),
    );
    await Promise.all([
      ...decisions.map((d) => {
        const a = attribute(d.decidedAtMs, d.windowDays, purchases);
        return this.repository.writeDecisionConversion(
          d,
          a.converted,
          a.revenue,
          conversionWriteTimestamp(a.purchases),
        );
      }),
      ...exposures.map((e) => {
        const a = attribute(e.firstAtMs, e.windowDays, purchases);
        return this.repository.writeExposureConversion(
          e.campaignId,
          shard,
          pseudonym,
          a.converted,
          a.revenue,
          exposureWriteTimestamp(e.firstAtMs, a.purchases),
        );
      }),
    ]);
  }
}
