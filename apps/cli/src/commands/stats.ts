import { AnalyticsRepository, CampaignRepository } from '@nunchi/cassandra';
import type { CampaignReport, Lift } from '@nunchi/analytics-model';
import {
  CampaignNotFoundError,
  CampaignResults,
  CampaignSettings,
  summaryOf,
  type CampaignSummary,
} from '@nunchi/operations';
import { ApiClient, ApiRequestError } from '../api-client.js';
import type { Resources } from '../resources.js';

/**
 * `nunchi stats`: the campaign figures GET /v1/stats and GET /v1/stats/campaigns/:id serve, computed by the
 * same code (libs/operations CampaignResults) straight from Cassandra: the analytics service need not run.
 * With NUNCHI_API_URL set, asked of those routes instead, as NUNCHI_API_KEY (role analyst or above), without the
 * database's credentials.
 */
function resultsOf(cql: Awaited<ReturnType<Resources['cassandra']>>, timeZone: string): CampaignResults {
  return new CampaignResults(
    new AnalyticsRepository(cql),
    new CampaignSettings(new CampaignRepository(cql)),
    timeZone,
  );
}

export async function campaignSummaries(r: Resources): Promise<CampaignSummary[]> {
  const api = ApiClient.of(r);
  if (api) return (await api.request<{ campaigns: CampaignSummary[] }>('GET', '/v1/stats')).campaigns;
  return resultsOf(await r.cassandra(), r.config.domain.timeZone).summaries();
}

/** @throws CampaignNotFoundError for a campaign neither stored nor seen in decisions */
export async function campaignReport(r: Resources, campaignId: string): Promise<CampaignReport> {
  const notFound = () =>
    new CampaignNotFoundError(`no campaign ${campaignId} (neither stored nor seen in decisions)`);
  const api = ApiClient.of(r);
  if (api)
    return api
      .request<CampaignReport>('GET', `/v1/stats/campaigns/${encodeURIComponent(campaignId)}`)
      .catch((error: unknown) => {
        throw error instanceof ApiRequestError && error.status === 404 ? notFound() : error;
      });
  const report = await resultsOf(await r.cassandra(), r.config.domain.timeZone).report(campaignId);
  if (!report) throw notFound();
  return report;
}

const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const signedPercent = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} %`;
const count = (x: number) => x.toLocaleString('en-US');

/** "+20.0 % [−19.5 %, +78.9 %]": relative lift and its always-valid interval; absolute when no relative exists. */
export function liftText(lift: Lift | null): string {
  if (!lift) return 'n/a (no holdout yet)';
  if (lift.relative !== null && lift.relativeInterval)
    return `${signedPercent(lift.relative)} [${signedPercent(lift.relativeInterval.lower)}, ${signedPercent(lift.relativeInterval.upper)}]`;
  return `${signedPercent(lift.absolute)} pts [${signedPercent(lift.interval.lower)}, ${signedPercent(lift.interval.upper)}] (absolute)`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatSummaries(campaigns: readonly CampaignSummary[]): string[] {
  if (!campaigns.length) return ['no campaign decisions yet'];
  return [
    ...table(
      [
        'campaign',
        'decisions',
        'offers',
        'control',
        'late',
        'treated',
        'held out',
        'conv. T',
        'conv. H',
        'lift (conversion, 95 % always-valid)',
        'warnings',
      ],
      campaigns.map((c) => [
        c.campaignId,
        count(c.decisions),
        count(c.offers),
        count(c.control),
        count(c.late),
        count(c.treatment.customers),
        count(c.holdout.customers),
        percent(c.treatment.rate),
        percent(c.holdout.rate),
        liftText(c.lift),
        c.warnings.map((w) => w.code).join(',') || '-',
      ]),
    ),
    '',
    'conv. T / conv. H: share of treated / held-out customers who bought within the attribution window; details: nunchi stats --campaign <id>',
  ];
}

export function formatCampaignReport(c: CampaignReport): string[] {
  const summary = summaryOf(c);
  return [
    `campaign ${c.campaignId}`,
    `  decisions ${count(c.decisions)}: offers ${count(c.offers)}, control ${count(c.control)}, late ${count(c.late)}; value sent ${count(c.valueSent)}`,
    `  responses: accepted ${count(c.responses.accepted)}, redeemed ${count(c.responses.redeemed)}, dismissed ${count(c.responses.dismissed)}`,
    `  treatment: ${count(c.treatment.customers)} customers, ${count(c.treatment.converted)} converted (${percent(c.treatment.rate)}), revenue ${count(c.treatment.revenue)}, ${count(Math.round(c.treatment.revenuePerCustomer))} per customer (winsorised)`,
    `  holdout:   ${count(c.holdout.customers)} customers, ${count(c.holdout.converted)} converted (${percent(c.holdout.rate)}), revenue ${count(c.holdout.revenue)}, ${count(Math.round(c.holdout.revenuePerCustomer))} per customer (winsorised)`,
    `  lift, conversion rate: ${liftText(c.lift)}`,
    `  lift, revenue per customer: ${liftText(c.revenueLift)}${c.revenueCap !== null ? ` (revenue capped at ${count(Math.round(c.revenueCap))})` : ''}`,
    `  sample ratio: holdout ${c.sampleRatio.observedHoldoutShare === null ? 'n/a' : percent(c.sampleRatio.observedHoldoutShare)} of ${percent(c.sampleRatio.expectedHoldoutShare)} expected, p = ${c.sampleRatio.pValue.toPrecision(3)}${c.sampleRatio.mismatch ? ' — MISMATCH' : ''}`,
    ...(summary.warnings.length
      ? summary.warnings.map((w) => `  warning: ${w.message}`)
      : ['  warnings: none']),
    '',
    'by offer',
    ...table(
      ['offer', 'offers', 'control', 'treated', 'held out', 'conv. T', 'conv. H', 'lift (conversion)'],
      c.byOffer.map((o) => [
        o.offerId,
        count(o.offers),
        count(o.control),
        count(o.treatment.customers),
        count(o.holdout.customers),
        percent(o.treatment.rate),
        percent(o.holdout.rate),
        liftText(o.lift),
      ]),
    ).map((l) => `  ${l}`),
    '',
    'by day (business-local)',
    ...table(
      [
        'day',
        'decisions',
        'offers',
        'control',
        'late',
        'treated',
        'held out',
        'conversions',
        'revenue',
        'accepted',
        'redeemed',
        'dismissed',
      ],
      c.days.map((d) => [
        d.day,
        count(d.decisions),
        count(d.offers),
        count(d.control),
        count(d.late),
        count(d.customersTreated),
        count(d.customersHeldOut),
        count(d.conversions),
        count(d.revenue),
        count(d.responses.accepted),
        count(d.responses.redeemed),
        count(d.responses.dismissed),
      ]),
    ).map((l) => `  ${l}`),
  ];
}
