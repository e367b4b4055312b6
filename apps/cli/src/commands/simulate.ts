import {
  BadInputError,
  simulateCampaign as simulate,
  type SimulateOptions,
  type SimulateResult,
  type SimulationPhase,
  type SimulationTarget,
} from '@nunchi/operations';
import type { SimulationReport } from '@nunchi/rules';
import { progress, type Progress } from '../progress.js';
import type { Resources } from '../resources.js';
import { looksLikeFile, portsOf, readText, storedSource } from './campaigns.js';

export { period } from '@nunchi/operations';
export type { SimulateResult };

/**
 * `nunchi campaigns simulate <file | id | id@version | id@draft>`: the simulation use case
 * (libs/operations simulate-campaign.usecase.ts, the same the campaigns API's worker runs) with progress
 * bars on `progress`. A file or a draft is tried as a new version; `id` as it ran; `id@N` as version N.
 */
export async function simulateCampaign(
  resources: Resources,
  target: string,
  options: Omit<SimulateOptions, 'onProgress'> & { progress?: NodeJS.WriteStream } = {},
): Promise<SimulateResult> {
  const ports = await portsOf(resources);
  const { progress: stream, ...rest } = options;
  return simulate(ports, await targetOf(ports, target), {
    ...rest,
    onProgress: stream ? bars(stream) : undefined,
  });
}

async function targetOf(
  ports: Awaited<ReturnType<typeof portsOf>>,
  target: string,
): Promise<SimulationTarget> {
  if (looksLikeFile(target)) return { kind: 'source', source: await readText(target), label: target };
  const at = target.lastIndexOf('@');
  const id = at < 0 ? target : target.slice(0, at);
  const ref = at < 0 ? undefined : target.slice(at + 1);
  if (ref === 'draft') {
    const draft = await storedSource(ports, target);
    return { kind: 'source', source: draft.source, label: draft.label };
  }
  if (ref !== undefined && !/^[1-9]\d*$/.test(ref))
    throw new BadInputError(`bad version in ${target}: expected id@N with N a version number, or id@draft`);
  return { kind: 'stored', campaignId: id, version: ref === undefined ? undefined : Number(ref) };
}

const LABELS: Record<SimulationPhase, string> = {
  scan: 'scan (token ranges)',
  customers: 'customers',
  replay: 'simulate',
};

/** One progress bar per phase, each started when its phase reports first. */
function bars(stream: NodeJS.WriteStream): NonNullable<SimulateOptions['onProgress']> {
  let phase: SimulationPhase | undefined;
  let bar: Progress | undefined;
  let shown = 0;
  return (next, done, total) => {
    if (next !== phase) {
      bar?.stop();
      phase = next;
      bar = progress(LABELS[next], total, stream);
      shown = 0;
    }
    if (done > shown) bar!.tick(done - shown);
    shown = done;
    if (done >= total) bar!.stop();
  };
}

/** "replayed 200000 events in 12.3 s (16260 events/s) …": the time line of a run. */
export function formatTimings(t: SimulateResult['timings']): string {
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const total = t.scanMs + t.customersMs + t.replayMs;
  return (
    `replayed ${t.events} events in ${s(total)} s (${Math.round(t.events / Math.max(0.001, total / 1000))} events/s): ` +
    `scan ${s(t.scanMs)} s, customers ${s(t.customersMs)} s, decisions ${s(t.replayMs)} s ` +
    `(${Math.round(t.events / Math.max(0.001, t.replayMs / 1000))} events/s)`
  );
}

/** The report as text lines. */
export function formatReport(r: SimulationReport, written?: { count: number; path: string }): string[] {
  const money = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  const pairs = (o: Record<string, number>) =>
    Object.entries(o)
      .sort(([a], [b]) => cmp(a, b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-';
  const lines = [
    `simulation of ${r.campaignId}${r.versions.length ? ` (version ${r.versions.join(', ')})` : ''} from ${r.period.from} to ${r.period.to}${r.withLive ? ', against the live campaigns of the time' : ''}`,
    `events: ${r.events.inPeriod} in the period (${r.events.replayed} replayed), ${r.events.decisions} decisions (${pairs(r.outcomes)})`,
    `reach: ${r.reach.eventsTriggering} events triggering, ${r.reach.eventsInAudience} in audience, ${r.reach.eventsMatching} matching; ${r.reach.customersTriggering} customers triggering, ${r.reach.customersMatching} matching, ${r.reach.customersOffered} offered`,
    `offers: ${r.offers.offers}, value ${money(r.offers.value)}, cost ${money(r.offers.cost)}`,
    ...Object.entries(r.offers.byOffer).map(
      ([id, t]) => `  ${id}: ${t.offers} offers, value ${money(t.value)}, cost ${money(t.cost)}`,
    ),
  ];
  const limits = [
    r.budget.limits.maxOffers !== undefined ? `maxOffers ${r.budget.limits.maxOffers}` : '',
    r.budget.limits.maxCost !== undefined ? `maxCost ${money(r.budget.limits.maxCost)}` : '',
  ].filter(Boolean);
  lines.push(
    `budget: ${limits.length ? limits.join(', ') : 'none'}${r.budget.exhaustedOn ? `; runs out on ${r.budget.exhaustedOn} (${r.budget.refused} offers refused)` : ''}`,
  );
  for (const d of r.budget.byDay)
    lines.push(
      `  ${d.day}: ${d.offers} offers, cost ${money(d.cost)} (total ${d.totalOffers}, ${money(d.totalCost)})`,
    );
  lines.push(
    `caps hit: ${r.caps.cap} (frequency caps), ${r.caps.contactPolicy} (contact policy)`,
    `holdout: ${r.holdout.decisions} control decisions, ${r.holdout.customers} customers`,
    `offers by store: ${pairs(r.breakdown.byStore)}`,
    `offers by hour: ${pairs(r.breakdown.byHour)}`,
    `offers by channel: ${pairs(r.breakdown.byChannel)}`,
  );
  if (r.withLive) {
    lines.push(
      'overlap with live campaigns (both eligible / moved to the draft / offers lost / value lost):',
    );
    if (!r.overlap.length) lines.push('  none');
    for (const o of r.overlap)
      lines.push(
        `  ${o.campaignId}: ${o.bothEligible} / ${o.movedToDraft} / ${o.offersLost} / ${money(o.valueLost)}`,
      );
  }
  if (r.sample.length) lines.push('sample of decisions:');
  for (const s of r.sample) {
    lines.push(
      `  ${s.occurredAt} ${s.customerId} event ${s.eventId}: ${s.outcome}${s.campaignId ? ` ${s.campaignId}/${s.offerId}` : ''} — draft ${s.draft}`,
    );
    for (const l of s.lines) lines.push(`      ${l}`);
  }
  if (written) lines.push(`${written.count} decisions written to ${written.path}`);
  lines.push('nothing was sent or written to live tables');
  return lines;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
