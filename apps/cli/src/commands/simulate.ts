import { createWriteStream, existsSync, renameSync, unlinkSync, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  CampaignRepository,
  ContextRepository,
  CustomerRepository,
  type StoredCampaign,
} from '@nunchi/cassandra';
import { addDays, dayFromIndex, localDayIndex, localDayRange } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import {
  alwaysActive,
  CampaignInvalidError,
  compileCampaign,
  decisionLine,
  holdoutBucket,
  parseCampaign,
  SetsOverTime,
  Simulation,
  SimulationReportBuilder,
  type CampaignTimeline,
  type CompiledCampaign,
  type CustomerBase,
  type SimulationReport,
} from '@nunchi/rules';
import { forEachBounded, progress } from '../progress.js';
import type { Resources } from '../resources.js';

export interface SimulateOptions {
  /** 'YYYY-MM-DD' (start of that local day) or an ISO-8601 instant; default: 30 days before --to */
  from?: string;
  /** 'YYYY-MM-DD' (end of that local day, inclusive) or an ISO-8601 instant (exclusive); default: now */
  to?: string;
  /** compete with the campaigns that were live at each event's time, in their versions of that time */
  withLive?: boolean;
  /** simulate only this percentage of customers (a stable hash of the customer id), 0 < p <= 100 */
  sample?: number;
  /** write one NDJSON line per decision here */
  out?: string;
  /** progress on this stream (a bar on a terminal); none when undefined */
  progress?: NodeJS.WriteStream;
  /** explained decisions in the report @default 10 */
  sampleSize?: number;
}

export interface SimulateResult {
  report: SimulationReport;
  /** decisions written to --out */
  written: number;
  /** where the time went, milliseconds; `events` replayed */
  timings: { scanMs: number; customersMs: number; replayMs: number; events: number };
}

/** One way the draft is given: a file, a stored version, or a stored campaign as it ran (its versions over time). */
interface Draft {
  id: string;
  /** what is simulated */
  timeline: CampaignTimeline;
  /** the stored campaign of the same id, which the draft replaces in the baseline (file or id@version) */
  replaces?: CampaignTimeline;
  budget: CompiledCampaign['budget'];
}

/**
 * `nunchi campaigns simulate`: replays the stored events of a period through the live fold and decision
 * procedure (libs/rules simulate.ts), in memory. Reads Cassandra only: nothing is written to live tables,
 * nothing is sent, no budget or cap is touched. Memory: every event of the period (and of the day --from
 * falls in) is held and sorted at once, plus one context and one contact ledger per customer seen.
 */
export async function simulateCampaign(
  resources: Resources,
  target: string,
  options: SimulateOptions = {},
): Promise<SimulateResult> {
  const tz = resources.config.domain.timeZone;
  const { fromMs, toMs } = period(options.from, options.to, tz, Date.now());
  if (options.sample !== undefined && !(options.sample > 0 && options.sample <= 100))
    throw new Error(`--sample must be a percentage in (0, 100], not ${options.sample}`);
  const cql = await resources.cassandra();
  const campaigns = new CampaignRepository(cql);
  const draft = await resolveDraft(campaigns, target);
  const live = options.withLive ? await liveTimelines(campaigns, draft.id) : [];

  const setOptions = { maxOffersPerCustomerPerDay: resources.config.domain.maxOffersPerCustomerPerDay };
  const firstDay = localDayIndex(fromMs, tz);
  const firstDayText = dayFromIndex(firstDay);
  const lastDay = dayFromIndex(localDayIndex(toMs - 1, tz));
  const months: string[] = [];
  for (let d = firstDayText; d <= lastDay; d = addDays(d, 1))
    if (months.at(-1) !== d.slice(0, 7)) months.push(d.slice(0, 7));

  const history = new ContextRepository(cql, resources.config.domain.eventTtlDays * 86_400);
  const startedMs = performance.now();
  let scanBar: ReturnType<typeof progress> | undefined;
  let events = await history.scanEvents(months, localDayRange(firstDayText, tz).startMs, toMs, (_, total) => {
    if (options.progress) (scanBar ??= progress('scan (token ranges)', total, options.progress)).tick();
  });
  scanBar?.stop();
  if (options.sample !== undefined) {
    const percent = options.sample;
    events = events.filter((e) => holdoutBucket('nunchi-simulate-sample', e.customerId) < percent);
  }
  // The order live processed them in: received first (its context, caps and budgets followed that order).
  events.sort(
    (a, b) => a.receivedAtMs - b.receivedAtMs || a.occurredAtMs - b.occurredAtMs || cmp(a.id, b.id),
  );

  const scannedMs = performance.now();
  const bases = await loadBases(resources, history, events, firstDayText, options.progress);
  const simulation = new Simulation({
    timeZone: tz,
    fromMs,
    toMs,
    firstDay,
    draftId: draft.id,
    sets: new SetsOverTime([draft.timeline, ...live], setOptions),
    baseline: options.withLive
      ? new SetsOverTime(draft.replaces ? [draft.replaces, ...live] : live, setOptions)
      : undefined,
    draftOnly: new SetsOverTime([draft.timeline], setOptions),
    baseOf: (id) => bases.get(id),
  });
  const builder = new SimulationReportBuilder({
    campaignId: draft.id,
    timeZone: tz,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    withLive: options.withLive === true,
    budget: draft.budget,
    sampleSize: options.sampleSize,
  });

  const loadedMs = performance.now();
  const out = options.out ? new PartialFile(options.out) : undefined;
  let written = 0;
  try {
    const bar = options.progress ? progress('simulate', events.length, options.progress) : undefined;
    for (let i = 0; i < events.length; i++) {
      const decision = simulation.step(events[i]);
      if (decision) {
        builder.add(decision);
        const line = out && decisionLine(decision, { withLive: options.withLive });
        if (line) {
          written++;
          if (!out.write(`${JSON.stringify(line)}\n`)) await out.drained();
        }
      }
      // Let the progress bar draw and Ctrl-C be heard.
      if (i % 1_000 === 999) {
        bar?.tick(1_000);
        await new Promise((r) => setImmediate(r));
      }
    }
    bar?.tick(events.length % 1_000);
    bar?.stop();
    await out?.commit();
  } finally {
    out?.discard();
  }
  const timings = {
    scanMs: scannedMs - startedMs,
    customersMs: loadedMs - scannedMs,
    replayMs: performance.now() - loadedMs,
    events: events.length,
  };
  return { report: builder.report(), written, timings };
}

/**
 * An output file written under a temporary name and renamed into place only when complete: an interrupted
 * simulation (Ctrl-C, an error) leaves nothing behind.
 */
class PartialFile {
  readonly #temp: string;
  readonly #stream: WriteStream;
  #done = false;
  readonly #onSignal = () => {
    this.discard();
    process.exit(130);
  };

  constructor(private readonly path: string) {
    this.#temp = `${path}.partial-${process.pid}`;
    this.#stream = createWriteStream(this.#temp);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  write(text: string): boolean {
    return this.#stream.write(text);
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.#stream.once('drain', resolve));
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.#stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    renameSync(this.#temp, this.path);
    this.#done = true;
    this.#unlisten();
  }

  discard(): void {
    this.#unlisten();
    if (this.#done) return;
    this.#done = true;
    this.#stream.destroy();
    if (existsSync(this.#temp)) unlinkSync(this.#temp);
  }

  #unlisten(): void {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The period [fromMs, toMs) from --from and --to; a bad or empty range is a one-line error. */
export function period(
  from: string | undefined,
  to: string | undefined,
  timeZone: string,
  nowMs: number,
): { fromMs: number; toMs: number } {
  const toMs = to === undefined ? nowMs : instant('--to', to, timeZone, 'end');
  const fromMs = from === undefined ? toMs - 30 * 86_400_000 : instant('--from', from, timeZone, 'start');
  if (fromMs >= toMs)
    throw new Error(
      `empty date range: --from ${new Date(fromMs).toISOString()} is not before --to ${new Date(toMs).toISOString()}`,
    );
  return { fromMs, toMs };
}

function instant(flag: string, text: string, timeZone: string, edge: 'start' | 'end'): number {
  if (DAY_RE.test(text)) {
    try {
      const range = localDayRange(text, timeZone);
      return edge === 'start' ? range.startMs : range.endMs;
    } catch {
      // not a calendar day: the one-line error below
    }
  } else if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new Error(
    `${flag}: not a date: ${text} (YYYY-MM-DD, a local day, or an ISO-8601 instant with its offset)`,
  );
}

/** The campaign to simulate: a file (as a draft), `id@version` (that version) or `id` (as it ran). */
async function resolveDraft(campaigns: CampaignRepository, target: string): Promise<Draft> {
  if (looksLikeFile(target)) {
    const text = await readFile(target, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        error.code === 'ENOENT' ? `no such file: ${target}` : `cannot read ${target}: ${error.message}`,
      );
    });
    const definition = oneLine(target, () => parseCampaign(text));
    const stored = await campaigns.versions(definition.id);
    const version = (stored.at(-1)?.version ?? 0) + 1;
    // Tried as if active from the start of the period, with the version it would get if applied now.
    const draft = oneLine(target, () => compileCampaign({ ...definition, state: 'active' }, version));
    return {
      id: draft.id,
      timeline: alwaysActive(draft),
      replaces: stored.length ? timelineOf(draft.id, stored) : undefined,
      budget: draft.budget,
    };
  }
  const match = /^([^@]+)(?:@(.*))?$/.exec(target);
  const id = match?.[1] ?? target;
  const versionText = match?.[2];
  if (versionText !== undefined && !/^[1-9]\d*$/.test(versionText))
    throw new Error(`bad version in ${target}: expected id@N with N a version number`);
  const stored = await campaigns.versions(id);
  if (!stored.length) throw new Error(`no campaign ${id} (and no such file)`);
  if (versionText === undefined) {
    const timeline = timelineOf(id, stored);
    const latest = compileStored(stored.at(-1)!, true);
    return { id, timeline, budget: latest?.budget ?? {} };
  }
  const version = Number(versionText);
  const chosen = stored.find((s) => s.version === version);
  if (!chosen)
    throw new Error(`campaign ${id} has no version ${version} (versions 1 to ${stored.at(-1)!.version})`);
  const draft = compileStored(chosen, true);
  if (!draft) throw new Error(`campaign ${id} version ${version} no longer compiles`);
  return { id, timeline: alwaysActive(draft), replaces: timelineOf(id, stored), budget: draft.budget };
}

function looksLikeFile(target: string): boolean {
  return /\.(ya?ml|json)$/i.test(target) || target.includes('/') || existsSync(target);
}

/** Runs fn; a campaign that does not parse or compile becomes one line naming the file and every problem. */
function oneLine<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof CampaignInvalidError)
      throw new Error(
        `${file} does not compile: ${error.details.map((d) => `${d.path || '(root)'}: ${d.message.split('\n')[0]}`).join('; ')}`,
      );
    throw error;
  }
}

/** A stored campaign's versions over time: each current from its applied_at, in force when its state is active. */
function timelineOf(campaignId: string, stored: readonly StoredCampaign[]): CampaignTimeline {
  return {
    campaignId,
    versions: stored.map((s) => ({
      fromMs: s.appliedAt.getTime(),
      version: s.version,
      campaign: s.state === 'active' ? (compileStored(s, false) ?? null) : null,
    })),
  };
}

/** A stored version compiled as the decision service compiles it; undefined when it no longer compiles. */
function compileStored(s: StoredCampaign, asActive: boolean): CompiledCampaign | undefined {
  try {
    const definition = parseCampaign(JSON.parse(s.definition) as unknown);
    return compileCampaign(asActive ? { ...definition, state: 'active' } : definition, s.version);
  } catch {
    return undefined;
  }
}

/** Every other campaign's versions over time (all campaigns ever applied are in the index). */
async function liveTimelines(campaigns: CampaignRepository, draftId: string): Promise<CampaignTimeline[]> {
  const ids = (await campaigns.currentVersions()).map((c) => c.campaignId).filter((id) => id !== draftId);
  const out: CampaignTimeline[] = [];
  await forEachBounded(ids, 16, async (id) => {
    out.push(timelineOf(id, await campaigns.versions(id)));
  });
  return out.sort((a, b) => cmp(a.campaignId, b.campaignId));
}

/** Each customer's profile and history before the first replayed day. */
async function loadBases(
  resources: Resources,
  history: ContextRepository,
  events: readonly AcceptedEvent[],
  firstDay: string,
  stream: NodeJS.WriteStream | undefined,
): Promise<Map<string, CustomerBase>> {
  const customers = new CustomerRepository(await resources.cassandra());
  const ids = [...new Set(events.map((e) => e.customerId))];
  const bar = stream ? progress('customers', ids.length, stream) : undefined;
  const bases = new Map<string, CustomerBase>();
  await forEachBounded(ids, 16, async (id) => {
    const [profile, before] = await Promise.all([
      customers.get(id),
      history.historyBefore(id, firstDay, resources.config.domain.timeZone),
    ]);
    bases.set(id, { profile, ...before });
    bar?.tick();
  });
  bar?.stop();
  return bases;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
