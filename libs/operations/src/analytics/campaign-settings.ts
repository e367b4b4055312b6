import type { CampaignRepository } from '@nunchi/cassandra';
import { attributionWindowOf } from '@nunchi/analytics-model';

/** versions remembered: a campaign version's settings never change (versions are immutable) */
const MAX_REMEMBERED = 2_000;

/**
 * What analytics needs of a campaign's definition: the attribution window of a version (immutable, so
 * remembered) and the holdout share of its latest version (read per report: reports are cached).
 */
export class CampaignSettings {
  private readonly windows = new Map<string, number>();

  constructor(private readonly campaigns: CampaignRepository) {}

  /** days; the default window when the version is unknown (a campaign stored elsewhere, or removed) */
  async attributionWindowDays(campaignId: string, version: number | undefined): Promise<number> {
    const stored = version === undefined ? await this.campaigns.latest(campaignId) : undefined;
    const key = `${campaignId}@${version ?? stored?.version}`;
    const known = this.windows.get(key);
    if (known !== undefined) return known;
    const definition =
      stored ?? (version === undefined ? undefined : await this.campaigns.get(campaignId, version));
    const days = attributionWindowOf(definition ? (JSON.parse(definition.definition) as object) : undefined);
    if (this.windows.size >= MAX_REMEMBERED) this.windows.clear();
    if (definition) this.windows.set(key, days);
    return days;
  }

  /** the latest version's holdoutPercent / 100; undefined when the campaign is not stored */
  async holdoutShare(campaignId: string): Promise<number | undefined> {
    const stored = await this.campaigns.latest(campaignId);
    if (!stored) return undefined;
    const percent = (JSON.parse(stored.definition) as { holdoutPercent?: unknown }).holdoutPercent;
    return typeof percent === 'number' ? percent / 100 : 0;
  }
}
