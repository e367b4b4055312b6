import type { AnalyticsRepository } from '@nunchi/cassandra';
import {
  CampaignTally,
  EXPOSURE_SHARDS,
  MAX_ATTRIBUTION_WINDOW_DAYS,
  type CampaignReport,
} from '@nunchi/analytics-model';
import { forEachBounded } from '../bounded.js';
import { CampaignSettings } from './campaign-settings.js';
import { localDayAndHour } from './local-time.js';

/** a report is recomputed at most this often, milliseconds: every reader (API, console, live feed, CLI) shares it */
export const REPORT_MAX_AGE_MS = 2_000;
/**
 * ... unless the campaign has made no decision for longer than the longest attribution window: then only a
 * late response can still change it, and its report is kept this long, milliseconds (a keyspace full of old
 * campaigns must not be rescanned every 2 s while a console is open)
 */
export const QUIET_REPORT_MAX_AGE_MS = 60_000;
/** a report is kept at least this many times as long as it took to compute */
const COST_FACTOR = 5;
/** campaigns whose reports are computed at once by `summaries` */
const SUMMARY_CONCURRENCY = 4;
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
 * REPORT_MAX_AGE_MS or 5 × the time it took (QUIET_REPORT_MAX_AGE_MS for a campaign long without decisions),
 * and concurrent readers share one computation.
 */
export class CampaignResults {
  private readonly cache = new Map<
    string,
    { atMs: number; maxAgeMs: number; report: Promise<CampaignReport | undefined> }
  >();

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
    if (cached && nowMs - cached.atMs < cached.maxAgeMs) return cached.report;
    const entry = { atMs: nowMs, maxAgeMs: REPORT_MAX_AGE_MS, report: this.compute(campaignId, nowMs) };
    this.cache.set(campaignId, entry);
    entry.report.catch(() => this.cache.delete(campaignId));
    const r = await entry.report;
    if (!r) this.cache.delete(campaignId);
    else if (isQuiet(r, nowMs, this.timeZone)) entry.maxAgeMs = QUIET_REPORT_MAX_AGE_MS;
    // A report that took long is kept longer: scanning a big campaign at most a fifth of the time.
    else entry.maxAgeMs = Math.max(REPORT_MAX_AGE_MS, COST_FACTOR * (this.clock() - nowMs));
    return r;
  }

  async summaries(): Promise<CampaignSummary[]> {
    const ids = await this.campaignIds();
    const reports: Array<CampaignReport | undefined> = [];
    await forEachBounded(ids, SUMMARY_CONCURRENCY, async (id, i) => {
      reports[i] = await this.report(id);
    });
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

/** No decision for longer than the longest attribution window (plus a day): no conversion can still come. */
function isQuiet(report: CampaignReport, nowMs: number, timeZone: string): boolean {
  const newest = report.days.at(-1)?.day;
  if (!newest) return false;
  const quietSince = localDayAndHour(nowMs - (MAX_ATTRIBUTION_WINDOW_DAYS + 1) * 86_400_000, timeZone).day;
  return newest < quietSince;
}

export function summaryOf(report: CampaignReport): CampaignSummary {
  const summary: Partial<CampaignReport> = { ...report };
  delete summary.days;
  delete summary.hours;
  return summary as CampaignSummary;
}
