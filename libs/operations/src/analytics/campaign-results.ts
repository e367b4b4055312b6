import type { AnalyticsRepository } from '@nunchi/cassandra';
import { CampaignTally, EXPOSURE_SHARDS, type CampaignReport } from '@nunchi/analytics-model';
import { CampaignSettings } from './campaign-settings.js';
import { localDayAndHour } from './local-time.js';

/** a report is recomputed at most this often, milliseconds: every reader (API, console, live feed, CLI) shares it */
export const REPORT_MAX_AGE_MS = 2_000;
/** days of a campaign a report covers, newest first */
export const REPORT_MAX_DAYS = 400;
/** hourly figures for the last this many local days */
export const HOURLY_DAYS = 2;

/** The summary GET /v1/stats lists per campaign: the report without its days and hours. */
export type CampaignSummary = Omit<CampaignReport, 'days' | 'hours'>;

/**
 * THE campaign figures: read from analytics state in Cassandra and computed by libs/analytics-model. The
 * stats API, the console's pages and live feed (apps/analytics) and `nunchi stats` (apps/cli) all read them here. A report is computed
 * by scanning the campaign's rows page by page (memory: one page and the counters), cached for
 * REPORT_MAX_AGE_MS, and concurrent readers share one computation.
 */
export class CampaignResults {
  private readonly cache = new Map<string, { atMs: number; report: Promise<CampaignReport | undefined> }>();

  /** `timeZone`: the business time zone (IANA) whose local days and hours the figures are bucketed by */
  constructor(
    private readonly repository: AnalyticsRepository,
    private readonly settings: CampaignSettings,
    private readonly timeZone: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Campaigns analytics has decisions of, by id. */
  async campaignIds(): Promise<string[]> {
    return (await this.repository.campaignIds()).sort();
  }

  /** undefined: neither a stored campaign nor one analytics has seen decisions of */
  async report(campaignId: string): Promise<CampaignReport | undefined> {
    const nowMs = this.clock();
    const cached = this.cache.get(campaignId);
    if (cached && nowMs - cached.atMs < REPORT_MAX_AGE_MS) return cached.report;
    const report = this.compute(campaignId, nowMs);
    this.cache.set(campaignId, { atMs: nowMs, report });
    report.catch(() => this.cache.delete(campaignId));
    const r = await report;
    if (!r) this.cache.delete(campaignId);
    return r;
  }

  async summaries(): Promise<CampaignSummary[]> {
    const reports = await Promise.all((await this.campaignIds()).map((id) => this.report(id)));
    return reports.filter((r): r is CampaignReport => r !== undefined).map(summaryOf);
  }

  private async compute(campaignId: string, nowMs: number): Promise<CampaignReport | undefined> {
    const [days, holdoutShare] = await Promise.all([
      this.repository.daysOf(campaignId, REPORT_MAX_DAYS),
      this.settings.holdoutShare(campaignId),
    ]);
    if (!days.length && holdoutShare === undefined) return undefined;
    const today = localDayAndHour(nowMs, this.timeZone).day;
    const hoursFromDay = localDayAndHour(
      Date.parse(`${today}T12:00:00Z`) - (HOURLY_DAYS - 1) * 86_400_000,
      'UTC',
    ).day;
    const tally = new CampaignTally(hoursFromDay);
    for (const day of [...days].reverse())
      await this.repository.forEachDecisionRow(campaignId, day, (row) => tally.addDecision({ ...row, day }));
    await this.repository.forEachExposure(campaignId, EXPOSURE_SHARDS, (row) => tally.addExposure(row));
    return tally.report({ campaignId, expectedHoldoutShare: holdoutShare ?? 0, hoursFromDay });
  }
}

export function summaryOf(report: CampaignReport): CampaignSummary {
  const summary: Partial<CampaignReport> = { ...report };
  delete summary.days;
  delete summary.hours;
  return summary as CampaignSummary;
}
