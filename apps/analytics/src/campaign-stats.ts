import type { AcceptedEvent, DecisionRecord } from '@nunchi/contracts';

/** A purchase this long after a decision counts as that decision's conversion, milliseconds. */
export const CONVERSION_WINDOW_MS = 7 * 86_400_000;

export interface GroupStats {
  /** decisions in this group */
  customers: number;
  /** of those, customers who purchased within the conversion window after the decision */
  converted: number;
  /** converted / customers, 0..1 */
  rate: number;
}

export interface CampaignStats {
  campaignId: string;
  decisions: number;
  offers: number;
  control: number;
  late: number;
  /** offer_response events naming this campaign's decisions */
  responses: { accepted: number; redeemed: number; dismissed: number };
  /** offer value sent, major currency unit */
  valueSent: number;
  treatment: GroupStats;
  holdout: GroupStats;
  /** (treatment rate − holdout rate) / holdout rate; null until the holdout group has a conversion */
  lift: number | null;
}

interface Pending {
  campaignId: string;
  group: 'treatment' | 'holdout';
  decidedAtMs: number;
  converted: boolean;
}

/**
 * Real-time campaign statistics from the EVENTS and DECISIONS streams. Pure and deterministic: the
 * service rebuilds it by replaying both streams at start, so counts survive restarts without a store.
 * Each event id and decision id counts once, however often it is delivered.
 */
export class CampaignStatsAggregator {
  private readonly seenEvents = new Set<string>();
  private readonly seenDecisions = new Set<string>();
  private readonly byCampaign = new Map<string, CampaignStats>();
  private readonly decisionsOfCustomer = new Map<string, Pending[]>();
  private readonly decisionCampaign = new Map<string, string>();
  readonly events = { total: 0, byType: {} as Record<string, number>, byChannel: {} as Record<string, number> };

  addEvent(event: AcceptedEvent): void {
    if (this.seenEvents.has(event.id)) return;
    this.seenEvents.add(event.id);
    this.events.total++;
    this.events.byType[event.type] = (this.events.byType[event.type] ?? 0) + 1;
    this.events.byChannel[event.channel] = (this.events.byChannel[event.channel] ?? 0) + 1;
    if (event.type === 'purchase') this.convert(event);
    if (event.type === 'offer_response') this.respond(event);
  }

  addDecision(d: DecisionRecord): void {
    if (!d.campaignId || this.seenDecisions.has(d.decisionId)) return;
    this.seenDecisions.add(d.decisionId);
    const stats = this.stats(d.campaignId);
    stats.decisions++;
    this.decisionCampaign.set(d.decisionId, d.campaignId);
    if (d.outcome === 'offer') {
      stats.offers++;
      stats.valueSent += d.value ?? 0;
      this.track(d, 'treatment');
    } else if (d.outcome === 'control') {
      stats.control++;
      this.track(d, 'holdout');
    } else if (d.outcome === 'late') {
      stats.late++;
    }
  }

  snapshot(): { events: CampaignStatsAggregator['events']; campaigns: CampaignStats[] } {
    const campaigns = [...this.byCampaign.values()].map((s) => {
      const treatment = { ...s.treatment, rate: ratio(s.treatment.converted, s.treatment.customers) };
      const holdout = { ...s.holdout, rate: ratio(s.holdout.converted, s.holdout.customers) };
      return { ...s, treatment, holdout, lift: holdout.converted > 0 ? (treatment.rate - holdout.rate) / holdout.rate : null };
    });
    return { events: this.events, campaigns: campaigns.sort((a, b) => a.campaignId.localeCompare(b.campaignId)) };
  }

  private track(d: DecisionRecord, group: Pending['group']): void {
    const stats = this.stats(d.campaignId!);
    stats[group].customers++;
    const list = this.decisionsOfCustomer.get(d.customerId) ?? [];
    list.push({ campaignId: d.campaignId!, group, decidedAtMs: Date.parse(d.decidedAt), converted: false });
    this.decisionsOfCustomer.set(d.customerId, list);
  }

  private convert(purchase: AcceptedEvent): void {
    for (const p of this.decisionsOfCustomer.get(purchase.customerId) ?? []) {
      const after = purchase.occurredAtMs - p.decidedAtMs;
      // The purchase that triggered the decision happened before it; only later purchases count.
      if (p.converted || after <= 0 || after > CONVERSION_WINDOW_MS) continue;
      p.converted = true;
      this.stats(p.campaignId)[p.group].converted++;
    }
  }

  private respond(event: AcceptedEvent): void {
    const payload = event.payload as { decisionId?: string; response?: 'accepted' | 'redeemed' | 'dismissed'; campaignId?: string };
    const campaignId = (payload.decisionId && this.decisionCampaign.get(payload.decisionId)) ?? payload.campaignId;
    if (!campaignId || !payload.response) return;
    this.stats(campaignId).responses[payload.response]++;
  }

  private stats(campaignId: string): CampaignStats {
    let s = this.byCampaign.get(campaignId);
    if (!s) {
      s = {
        campaignId,
        decisions: 0,
        offers: 0,
        control: 0,
        late: 0,
        responses: { accepted: 0, redeemed: 0, dismissed: 0 },
        valueSent: 0,
        treatment: { customers: 0, converted: 0, rate: 0 },
        holdout: { customers: 0, converted: 0, rate: 0 },
        lift: null,
      };
      this.byCampaign.set(campaignId, s);
    }
    return s;
  }
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
