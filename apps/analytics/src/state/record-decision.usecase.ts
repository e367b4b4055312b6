import { Inject, Injectable } from '@nestjs/common';
import { CustomerKeyring, type AnalyticsRepository } from '@nunchi/cassandra';
import { exposureShardOf, exposureWriteTimestamp } from '@nunchi/analytics-model';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { DecisionRecord } from '@nunchi/contracts/core';
import { Outcome } from '@nunchi/messaging';
import { CampaignSettings, localDayAndHour } from '@nunchi/operations';
import { ANALYTICS_REPOSITORY } from './tokens.js';
import { Attribution } from './attribution.js';
import { pseudonymFor } from './pseudonym.js';
import { EventCounts } from './event-counts.js';

const COUNTED = new Set(['offer', 'control', 'late']);

/**
 * A campaign decision into analytics state: its row (counted once: keyed by its deterministic id), the
 * customer's exposure to the campaign (offer: treatment, control: holdout; the first one defines it), and
 * its conversion from the purchases already stored. Decisions without a campaign are not analytics' business.
 * Every row names the customer by its analytics pseudonym, never by its id (docs/security.md, "Analytics' rows").
 */
@Injectable()
export class RecordDecision {
  constructor(
    @Inject(ANALYTICS_REPOSITORY) private readonly repository: AnalyticsRepository,
    private readonly attribution: Attribution,
    private readonly settings: CampaignSettings,
    private readonly counts: EventCounts,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly keys: CustomerKeyring,
  ) {}

  async execute(d: DecisionRecord): Promise<Outcome> {
    if (!d.campaignId || !COUNTED.has(d.outcome)) return Outcome.done();
    const outcome = await this.record(d, d.campaignId);
    if (outcome.kind === 'done') this.counts.addDecision(d.campaignId, d.outcome);
    return outcome;
  }

  private async record(d: DecisionRecord, campaignId: string): Promise<Outcome> {
    const decidedAtMs = Date.parse(d.decidedAt);
    if (!Number.isFinite(decidedAtMs))
      return Outcome.reject(`decision ${d.decisionId}: decidedAt "${d.decidedAt}" is not an instant`);
    const named = await pseudonymFor(this.keys, d.customerId, `decision ${d.decisionId}`);
    if ('outcome' in named) return named.outcome;
    const { pseudonym } = named;
    const outcome = d.outcome as 'offer' | 'control' | 'late';
    const windowDays = await this.settings.attributionWindowDays(campaignId, d.campaignVersion);
    const { day, hour } = localDayAndHour(decidedAtMs, this.config.domain.timeZone);
    const key = { campaignId, day, pseudonym, decisionId: d.decisionId };
    await this.repository.recordDecision({
      ...key,
      decidedAtMs,
      hour,
      outcome,
      ...(d.offerId !== undefined ? { offerId: d.offerId } : {}),
      ...(d.value !== undefined ? { value: d.value } : {}),
      windowDays,
    });
    if (outcome === 'late') return Outcome.done();
    await this.repository.recordExposure(
      {
        campaignId,
        shard: exposureShardOf(pseudonym),
        pseudonym,
        firstAtMs: decidedAtMs,
        group: outcome === 'offer' ? 'treatment' : 'holdout',
        ...(d.offerId !== undefined ? { offerId: d.offerId } : {}),
        windowDays,
      },
      exposureWriteTimestamp(decidedAtMs, 0),
    );
    await this.attribution.refreshConversions(pseudonym, [{ ...key, decidedAtMs, windowDays }], [campaignId]);
    return Outcome.done();
  }
}
