import { localDay } from '@nunchi/context-model';
import type { PastDecision } from '@nunchi/cassandra';
import type { CustomerUsage } from '@nunchi/rules';

/** What a customer already received, counted from their decision history (offers only). */
export function usageFromHistory(history: PastDecision[], nowMs: number, timeZone: string): CustomerUsage {
  const today = localDay(nowMs, timeZone);
  const usage: CustomerUsage = { offersToday: 0, byCampaignToday: {}, byCampaignLifetime: {}, byChannelToday: {} };
  for (const d of history) {
    if (d.outcome !== 'offer' || !d.campaignId) continue;
    usage.byCampaignLifetime[d.campaignId] = (usage.byCampaignLifetime[d.campaignId] ?? 0) + 1;
    if (localDay(d.decidedAtMs, timeZone) !== today) continue;
    usage.offersToday++;
    usage.byCampaignToday[d.campaignId] = (usage.byCampaignToday[d.campaignId] ?? 0) + 1;
    const byChannel = (usage.byChannelToday[d.campaignId] ??= {});
    byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
  }
  return usage;
}
