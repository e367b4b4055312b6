import { createWriteStream, existsSync, renameSync, unlinkSync, type WriteStream } from 'node:fs';
import type { CampaignRepository, StoredCampaign } from '@nunchi/cassandra';
import { addDays, dayFromIndex, localDay, localDayIndex, localDayRange } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import { MissingKekError, SealedDataError } from '@nunchi/sealing';
import {
  addUnreadable,
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
  type SimulatedDecision,
  type SimulationOptions,
  NO_OTHERS,
  sortInReplayOrder,
  type BudgetCheck,
  type OthersChecks,
  type ShardResult,
} from '@nunchi/rules';
import { forEachBounded } from '../bounded.js';
import { readAhead } from './read-ahead.js';
import { BadInputError, CampaignNotFoundError } from './errors.js';
import { othersDigest } from './simulation-shards.js';
import type { CampaignPorts } from './ports.js';

export interface SimulateOptions {
  /** 'YYYY-MM-DD' (start of that local day) or an ISO-8601 instant; default: 30 days before --to */
  from?: string;
  /** 'YYYY-MM-DD' (end of that local day, inclusive) or an ISO-8601 instant (exclusive); default: now */
  to?: string;
  /** compete with the campaigns that were live at each event's time, in their versions of that time */
  withLive?: boolean;
  /** simulate only this percentage of customers (a stable hash of the customer id), 0 < p <= 100 */
  sample?: number;
  /** write one NDJSON line per decision here (under a temporary name until complete) */
  out?: string;
  /** progress of each phase: `done` of `total` token ranges, customers or events */
  onProgress?: (phase: SimulationPhase, done: number, total: number) => void;
  /** checked between steps: true stops the run (SimulationCancelledError), leaving no output file */
  cancelled?: () => boolean;
  /** explained decisions in the report @default 10 */
  sampleSize?: number;
  /** simulate only this shard of the customers (token ranges of the ring) @default the whole ring */
  shard?: Shard;
  /** a shard's later round: the budget checks the other shards made (libs/rules simulation-merge.ts) */
  others?: OthersChecks;
  /** awaited before each page of the month index, each customer's read and every 1,000 events replayed: see Pace */
  pace?: Pace;
}

/**
 * Resolves when the simulation may go on: at once, or once live traffic has the cores and Cassandra back
 * (libs/messaging LagBoard.untilCaughtUp, while the hot path is behind). A simulation beside live traffic
 * waits there; with none given it never waits. Resolves to the milliseconds it waited (0: it went on at once).
 */
export type Pace = () => Promise<number>;

/**
 * milliseconds a simulation waits for live traffic at most before it goes on by one step (a page of the month
 * index, a customer read, or 1,000 events replayed): under lasting overload it crawls rather than stops —
 * unless the hot path counts as behind (libs/messaging holdFromMs): then it holds
 */
export const SIMULATION_YIELD_MAX_WAIT_MS = 5_000;

/**
 * milliseconds for which every lag report must have been within NUNCHI_SIMULATION_YIELD_LAG_MS before a
 * waiting simulation counts the hot path as caught up (libs/messaging CatchUpOptions.calmMs). At capacity,
 * admission control keeps the lag swinging between its bound and nothing several times a second; going on in
 * each dip took ~20 % of a core beside 500 events/s on a 2-core machine, and pushed live decisions late.
 */
export const SIMULATION_YIELD_CALM_MS = 10_000;

/** scan: token ranges of the month index; customers: each customer's history read; replay: events decided */
export type SimulationPhase = 'scan' | 'customers' | 'replay';

/** What to simulate: a campaign as text (a file or a draft), or a stored one as it ran (or one version of it). */
export type SimulationTarget =
  | {
      kind: 'source';
      source: string;
      /** names it in one-line errors: a file path, "<id> draft" */
      label: string;
    }
  | { kind: 'stored'; campaignId: string; version?: number };

export class SimulationCancelledError extends Error {
  override readonly name = 'SimulationCancelledError';
  constructor() {
    super('simulation cancelled');
  }
}

export interface SimulationTimings {
  /** events replayed (the period and the day --from falls in) */
  events: number;
  /** customers with events in the period: those whose history was read whole */
  customers: number;
  /** of events, those read from packed weeks (`nunchi history pack`) rather than row by row */
  packedEvents: number;
  /** reading Cassandra (month index, then each customer's history), wall-clock milliseconds */
  readMs: number;
  /** the in-memory replay (fold, decisions, report), wall-clock milliseconds */
  replayMs: number;
  /** CPU time of this process during the replay, milliseconds (what it costs without other load) */
  replayCpuMs: number;
  /** of readMs and replayMs, the milliseconds spent waiting for live traffic (Pace): 0 with none */
  yieldedMs: number;
}

export interface SimulateResult {
  report: SimulationReport;
  /** decisions written to --out */
  written: number;
  /** where the time went */
  timings: SimulationTimings;
  /** what the merge of shards needs (`--shard-out`): always given, a whole run is shard 0/1 */
  shard: ShardResult;
}

/**
 * One replay of the history for a draft, with the live campaigns it competes with: the same campaign-set
 * options (contact policy included) as the decision service and the dry run, for simulate and compare alike.
 */
function simulationOf(
  domain: CampaignPorts['domain'],
  period: { fromMs: number; toMs: number; firstDay: number; withLive: boolean | undefined },
  draft: Draft,
  live: CampaignTimeline[],
  bases: ReadonlyMap<string, CustomerBase>,
  others?: SimulationOptions['others'],
): Simulation {
  const setOptions = {
    maxOffersPerCustomerPerDay: domain.maxOffersPerCustomerPerDay,
    contactPolicy: domain.contactPolicy,
    timeZone: domain.timeZone,
  };
  return new Simulation({
    timeZone: domain.timeZone,
    fromMs: period.fromMs,
    toMs: period.toMs,
    firstDay: period.firstDay,
    draftId: draft.id,
    sets: new SetsOverTime([draft.timeline, ...live], setOptions),
    baseline: period.withLive
      ? new SetsOverTime(draft.replaces ? [draft.replaces, ...live] : live, setOptions)
      : undefined,
    draftOnly: new SetsOverTime([draft.timeline], setOptions),
    baseOf: (id) => bases.get(id),
    ...(others ? { others } : {}),
  });
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
 * Simulation on history (`nunchi campaigns simulate`, and the campaigns API's simulation worker): replays the stored events of a period through the live fold and decision
 * procedure (libs/rules simulate.ts), in memory. Reads Cassandra only: nothing is written to live tables,
 * nothing is sent, no budget or cap is touched. Memory: every event of the period (and of the day --from
 * falls in) of the shard's customers is held and sorted at once, plus one context and one contact ledger
 * per customer.
 */
export async function simulateCampaign(
  ports: Pick<CampaignPorts, 'campaigns' | 'history' | 'packs' | 'customers' | 'domain' | 'now'>,
  target: SimulationTarget,
  options: SimulateOptions = {},
): Promise<SimulateResult> {
  const tz = ports.domain.timeZone;
  const { fromMs, toMs } = period(options.from, options.to, tz, ports.now());
  checkSample(options.sample);
  const campaigns = ports.campaigns;
  const draft = await resolveDraft(campaigns, target, tz);
  const live = options.withLive ? await liveTimelines(campaigns, draft.id) : [];
  const report = options.onProgress ?? (() => undefined);
  const stopIfCancelled = () => {
    if (options.cancelled?.()) throw new SimulationCancelledError();
  };
  const pace = pacer(options.pace);

  const firstDay = localDayIndex(fromMs, tz);
  const firstDayText = dayFromIndex(firstDay);
  const months = monthsOf(firstDayText, dayFromIndex(localDayIndex(toMs - 1, tz)));

  const startedMs = performance.now();
  const shard = options.shard ?? { index: 0, count: 1 };
  checkShard(shard);
  const others = options.others ?? NO_OTHERS;
  const { events, bases, packedEvents, unreadable } = await readHistory(ports, {
    shard,
    firstDay: firstDayText,
    months,
    toMs,
    sample: options.sample,
    report,
    stopIfCancelled,
    pace,
  });
  const scannedMs = performance.now();
  const simulation = simulationOf(
    ports.domain,
    { fromMs, toMs, firstDay, withLive: options.withLive },
    draft,
    live,
    bases,
    {
      world: checksByCampaign(others.world),
      baseline: checksByCampaign(others.baseline),
    },
  );
  const builder = new SimulationReportBuilder({
    campaignId: draft.id,
    timeZone: tz,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    withLive: options.withLive === true,
    budget: draft.budget,
    sampleSize: options.sampleSize,
  });

  const cpuBefore = process.cpuUsage();
  const out = options.out ? new PartialFile(options.out) : undefined;
  let written = 0;
  try {
    const record = async (decision: SimulatedDecision) => {
      builder.add(decision);
      const line = out && decisionLine(decision, { withLive: options.withLive });
      if (line) {
        written++;
        if (!out.write(`${JSON.stringify(line)}\n`)) await out.drained();
      }
    };
    report('replay', 0, events.length);
    for (let i = 0; i < events.length; i++) {
      // the event's decision, after those of the absence timers due before it (docs/patterns.md)
      for (const decision of simulation.stepAll(events[i])) await record(decision);
      // Let progress be drawn (or sent), and Ctrl-C or a cancellation be heard.
      if (i % 1_000 === 999) {
        report('replay', i + 1, events.length);
        stopIfCancelled();
        await new Promise((r) => setImmediate(r));
        await pace();
      }
    }
    for (const decision of simulation.finish()) await record(decision);
    report('replay', events.length, events.length);
    await out?.commit();
  } finally {
    out?.discard();
  }
  const cpu = process.cpuUsage(cpuBefore);
  const timings: SimulationTimings = {
    events: events.length,
    customers: bases.size,
    packedEvents,
    readMs: scannedMs - startedMs,
    replayMs: performance.now() - scannedMs,
    replayCpuMs: (cpu.user + cpu.system) / 1000,
    yieldedMs: pace.waitedMs,
  };
  const finished = { ...builder.report(), ...unreadable };
  return {
    report: finished,
    written,
    timings,
    shard: {
      shard,
      report: finished,
      samplePool: builder.samplePool(),
      sampleSize: options.sampleSize ?? 10,
      checks: { world: simulation.world.checks, baseline: simulation.baselineWorld.checks },
      refused: simulation.world.refused + simulation.baselineWorld.refused,
      given: othersDigest(others),
    },
  };
}

function checksByCampaign(by: Record<string, BudgetCheck[]>): Map<string, BudgetCheck[]> {
  return new Map(Object.entries(by));
}

export interface CompareOptions {
  from?: string;
  to?: string;
  /** each campaign competes with the campaigns live at each event (not with the other one) */
  withLive?: boolean;
  sample?: number;
  onProgress?: (phase: SimulationPhase, done: number, total: number) => void;
  sampleSize?: number;
  /** as SimulateOptions.pace */
  pace?: Pace;
}

/** Where two simulated campaigns meet, on the same events. */
export interface CompareOverlap {
  /** events on which both made an offer (each in its own simulation) */
  eventsOfferedByBoth: number;
  /** events only A, only B made an offer on */
  eventsOfferedByAOnly: number;
  eventsOfferedByBOnly: number;
  /** customers both made at least one offer to */
  customersOfferedByBoth: number;
  /** events on which both were eligible candidates */
  eventsMatchedByBoth: number;
}

export interface CompareResult {
  a: SimulationReport;
  b: SimulationReport;
  overlap: CompareOverlap;
  timings: SimulationTimings;
}

/**
 * `nunchi campaigns compare a b`: two campaigns (files, drafts, stored versions, or stored campaigns as they
 * ran) simulated on the same history — read once, replayed in two independent worlds (each as
 * simulateCampaign replays one, so each report is the one `simulate` gives) — and where their offers meet.
 */
export async function compareCampaigns(
  ports: Pick<CampaignPorts, 'campaigns' | 'history' | 'packs' | 'customers' | 'domain' | 'now'>,
  targets: readonly [SimulationTarget, SimulationTarget],
  options: CompareOptions = {},
): Promise<CompareResult> {
  const tz = ports.domain.timeZone;
  const { fromMs, toMs } = period(options.from, options.to, tz, ports.now());
  checkSample(options.sample);
  const campaigns = ports.campaigns;
  const drafts = [
    await resolveDraft(campaigns, targets[0], tz),
    await resolveDraft(campaigns, targets[1], tz),
  ];
  const report = options.onProgress ?? (() => undefined);
  const firstDay = localDayIndex(fromMs, tz);
  const firstDayText = dayFromIndex(firstDay);
  const months = monthsOf(firstDayText, dayFromIndex(localDayIndex(toMs - 1, tz)));

  const startedMs = performance.now();
  const pace = pacer(options.pace);
  const { events, bases, packedEvents, unreadable } = await readHistory(ports, {
    shard: { index: 0, count: 1 },
    firstDay: firstDayText,
    months,
    toMs,
    sample: options.sample,
    report,
    stopIfCancelled: () => undefined,
    pace,
  });
  const readMs = performance.now();
  const cpuBefore = process.cpuUsage();
  const worlds = await Promise.all(
    drafts.map(async (draft) => {
      const live = options.withLive ? await liveTimelines(campaigns, draft.id) : [];
      return {
        draft,
        simulation: simulationOf(
          ports.domain,
          { fromMs, toMs, firstDay, withLive: options.withLive },
          draft,
          live,
          bases,
        ),
        builder: new SimulationReportBuilder({
          campaignId: draft.id,
          timeZone: tz,
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          withLive: options.withLive === true,
          budget: draft.budget,
          sampleSize: options.sampleSize,
        }),
      };
    }),
  );
  const overlap: CompareOverlap = {
    eventsOfferedByBoth: 0,
    eventsOfferedByAOnly: 0,
    eventsOfferedByBOnly: 0,
    customersOfferedByBoth: 0,
    eventsMatchedByBoth: 0,
  };
  const offeredBy = [new Set<string>(), new Set<string>()];
  report('replay', 0, events.length);
  for (let i = 0; i < events.length; i++) {
    const fates = worlds.map((w) => {
      const decision = w.simulation.step(events[i]);
      if (decision) w.builder.add(decision);
      return decision?.inPeriod ? decision.draft : undefined;
    });
    const offered = fates.map((f) => f?.status === 'won');
    if (offered[0] && offered[1]) overlap.eventsOfferedByBoth++;
    else if (offered[0]) overlap.eventsOfferedByAOnly++;
    else if (offered[1]) overlap.eventsOfferedByBOnly++;
    offered.forEach((o, k) => o && offeredBy[k].add(events[i].customerId));
    if (fates[0]?.matching && fates[1]?.matching) overlap.eventsMatchedByBoth++;
    if (i % 1_000 === 999) {
      report('replay', i + 1, events.length);
      await new Promise((r) => setImmediate(r));
      await pace();
    }
  }
  report('replay', events.length, events.length);
  for (const id of offeredBy[0]) if (offeredBy[1].has(id)) overlap.customersOfferedByBoth++;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    a: { ...worlds[0].builder.report(), ...unreadable },
    b: { ...worlds[1].builder.report(), ...unreadable },
    overlap,
    timings: {
      events: events.length,
      customers: bases.size,
      packedEvents,
      readMs: readMs - startedMs,
      replayMs: performance.now() - readMs,
      replayCpuMs: (cpu.user + cpu.system) / 1000,
      yieldedMs: pace.waitedMs,
    },
  };
}

/** The month buckets ('YYYY-MM') of the local days from `first` to `last`, ascending. */
function monthsOf(first: string, last: string): string[] {
  const months: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1))
    if (months.at(-1) !== d.slice(0, 7)) months.push(d.slice(0, 7));
  return months;
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
    throw new BadInputError(
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
  throw new BadInputError(
    `${flag}: not a date: ${text} (YYYY-MM-DD, a local day, or an ISO-8601 instant with its offset)`,
    flag.replace(/^--/, ''),
  );
}

/** The campaign to simulate: a text (as a draft), `id@version` (that version) or `id` (as it ran). */
async function resolveDraft(
  campaigns: CampaignRepository,
  target: SimulationTarget,
  timeZone: string,
): Promise<Draft> {
  if (target.kind === 'source') {
    const definition = oneLine(target.label, () => parseCampaign(target.source, { timeZone }));
    const stored = await campaigns.versions(definition.id);
    const version = (stored.at(-1)?.version ?? 0) + 1;
    // Tried as if active from the start of the period, with the version it would get if activated now.
    const draft = oneLine(target.label, () => compileCampaign({ ...definition, state: 'active' }, version));
    return {
      id: draft.id,
      timeline: alwaysActive(draft),
      replaces: stored.length ? timelineOf(draft.id, stored) : undefined,
      budget: draft.budget,
    };
  }
  const id = target.campaignId;
  const stored = await campaigns.versions(id);
  if (!stored.length) throw new CampaignNotFoundError(`no campaign ${id} (and no such file)`);
  if (target.version === undefined) {
    const timeline = timelineOf(id, stored);
    const latest = compileStored(stored.at(-1)!, true);
    return { id, timeline, budget: latest?.budget ?? {} };
  }
  const version = target.version;
  const chosen = stored.find((s) => s.version === version);
  if (!chosen)
    throw new CampaignNotFoundError(
      `campaign ${id} has no version ${version} (versions 1 to ${stored.at(-1)!.version})`,
      'version',
    );
  const draft = compileStored(chosen, true);
  if (!draft) throw new BadInputError(`campaign ${id} version ${version} no longer compiles`, 'version');
  return { id, timeline: alwaysActive(draft), replaces: timelineOf(id, stored), budget: draft.budget };
}

/** `--sample`: a percentage in (0, 100]. */
export function checkSample(sample: number | undefined): void {
  if (sample !== undefined && !(sample > 0 && sample <= 100))
    throw new BadInputError(`--sample must be a percentage in (0, 100], not ${sample}`, 'sample');
}

/** Runs fn; a campaign that does not parse or compile becomes one line naming the file and every problem. */
function oneLine<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof CampaignInvalidError)
      throw new BadInputError(
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

/**
 * The history of the shard's customers: the month index over the shard's token ranges gives its customers
 * (and their month buckets); for each customer with a bucket in the period, a few customers at a time, every
 * event from the first replayed day's start to --to — a closed week's from its pack when current
 * (`nunchi history pack`, libs/cassandra event-packs.ts), the rest row by row — and — only if there is any —
 * the profile and the history before that day. A customer is in exactly one shard, so shards never share a context, a contact ledger or a
 * holdout.
 * Returns the events in the order live received them.
 */
async function readHistory(
  ports: Pick<CampaignPorts, 'history' | 'packs' | 'customers' | 'domain'>,
  input: {
    shard: Shard;
    firstDay: string;
    /** the period's month buckets, ascending */
    months: readonly string[];
    toMs: number;
    sample?: number;
    report: (phase: SimulationPhase, done: number, total: number) => void;
    stopIfCancelled: () => void;
    pace: () => Promise<void>;
  },
): Promise<{
  events: AcceptedEvent[];
  bases: Map<string, CustomerBase>;
  /** of events, those read from packed weeks */
  packedEvents: number;
  /** customers left out: their history does not open (SimulationReport.unreadable) */
  unreadable: Pick<SimulationReport, 'unreadable'>;
}> {
  const { history, domain } = ports;
  const ranges = history.shardRanges(input.shard.index, input.shard.count);
  input.report('scan', 0, ranges.length);
  const monthsOf = await history.customersInRanges(
    ranges,
    (done, total) => input.report('scan', done, total),
    input.pace,
  );
  input.stopIfCancelled();
  const first = input.months[0];
  const last = input.months.at(-1)!;
  const ids: string[] = [];
  for (const [id, months] of monthsOf) {
    if (!months.some((m) => m >= first && m <= last)) continue; // no event in the period
    if (input.sample !== undefined && holdoutBucket('nunchi-simulate-sample', id) >= input.sample) continue;
    ids.push(id);
  }
  const bases = new Map<string, CustomerBase>();
  const events: AcceptedEvent[] = [];
  let done = 0;
  input.report('customers', 0, ids.length);
  let unreadable: SimulationReport['unreadable'];
  // A chunk ahead, many customers a request: their data keys and how their events of the period are to be read
  // (packed weeks that are current, rows for the rest), the rows, then for those with events in it, their
  // profiles and the daily rows before it.
  const lastDay = localDay(input.toMs - 1, domain.timeZone);
  const ahead = readAhead(
    ids,
    async (chunk) => {
      const [, plans] = await Promise.all([
        history.prefetchKeys(chunk),
        ports.packs.planPeriod(chunk, input.firstDay, lastDay),
      ]);
      const customers = chunk.flatMap((customerId) => {
        const { rowsFrom, packedWeeks } = plans.get(customerId)!;
        return rowsFrom === undefined
          ? []
          : [{ customerId, months: monthsOf.get(customerId)!, fromDay: rowsFrom, skipWeeks: packedWeeks }];
      });
      const bodies = await history.periodBodies(customers, input.firstDay, input.toMs, domain.timeZone);
      const active = chunk.filter((id) => bodies.has(id) || plans.get(id)!.packs.length > 0);
      const [profiles, days] = await Promise.all([
        ports.customers.profileRows(active),
        history.daysBefore(active, input.firstDay),
      ]);
      return { plans, bodies, profiles, days };
    },
    (chunk) => history.forgetKeys(chunk),
  );
  const startMs = localDayRange(input.firstDay, domain.timeZone).startMs;
  let packedEvents = 0;
  await forEachBounded(ids, CUSTOMER_READS_IN_FLIGHT, async (id, index) => {
    await input.pace();
    input.stopIfCancelled();
    try {
      const months = monthsOf.get(id)!;
      const fetched = await ahead.before(index);
      const ofPeriod = await history.openBodies(id, fetched.bodies.get(id) ?? []);
      for (const pack of fetched.plans.get(id)!.packs)
        for (const e of await ports.packs.openPack(id, pack))
          if (e.occurredAtMs >= startMs && e.occurredAtMs < input.toMs) {
            ofPeriod.push(e);
            packedEvents++;
          }
      // Nothing to replay (a short period, the customer's events on other days of its months): no more to read.
      if (ofPeriod.length > 0) {
        const [profile, before] = await Promise.all([
          ports.customers.openProfileRow(id, fetched.profiles.get(id)),
          history.historyBefore(id, months, input.firstDay, domain.timeZone, fetched.days.get(id) ?? []),
        ]);
        bases.set(id, { profile, rows: before.rows, recent: before.recent });
        for (const e of ofPeriod) events.push(e);
      }
    } catch (error) {
      // Sealed under a key this process cannot open (an identity key it lacks: configuration), or erased
      // meanwhile: the customer is left out, counted and named in the report, rather than failing the run.
      if (!(error instanceof SealedDataError || error instanceof MissingKekError)) throw error;
      unreadable = addUnreadable(unreadable, { customers: 1, reason: error.message });
    } finally {
      ahead.after(index);
    }
    input.report('customers', ++done, ids.length);
  });
  input.stopIfCancelled();
  // The order live processed them in: received first (its context, caps and budgets followed that order).
  sortInReplayOrder(events);
  return { events, bases, packedEvents, unreadable: unreadable ? { unreadable } : {} };
}

/**
 * A Pace (none: never waits) that adds up the wall-clock milliseconds during which some reader waited on it
 * (concurrent readers wait together: their waits overlap, and count once). Only spells in which one of them
 * did wait count: a pace that goes on at once still resolves a few ticks later, after whatever other readers
 * do meanwhile, and those ticks summed over a run are not waiting for live traffic.
 */
function pacer(pace: Pace | undefined): (() => Promise<void>) & { waitedMs: number } {
  let waiting = 0;
  let sinceMs = 0;
  let anyWaited = false;
  const paced = Object.assign(
    async () => {
      if (!pace) return;
      if (waiting++ === 0) {
        sinceMs = performance.now();
        anyWaited = false;
      }
      try {
        if ((await pace()) > 0) anyWaited = true;
      } finally {
        if (--waiting === 0 && anyWaited) paced.waitedMs += performance.now() - sinceMs;
      }
    },
    { waitedMs: 0 },
  );
  return paced;
}

/** customers read at once: enough to keep Cassandra busy, few enough not to queue in the driver */
const CUSTOMER_READS_IN_FLIGHT = 48;

/** One of `count` parts of the history (0 <= index < count): the customers in 1/count of the token ring. */
export interface Shard {
  index: number;
  count: number;
}

/** `--shard i/N`: 0 <= i < N, whole numbers. */
export function checkShard(shard: Shard): void {
  if (
    !Number.isInteger(shard.index) ||
    !Number.isInteger(shard.count) ||
    shard.count < 1 ||
    shard.index < 0 ||
    shard.index >= shard.count
  )
    throw new BadInputError(
      `--shard must be i/N with 0 <= i < N (the 0-based shard of N), not ${shard.index}/${shard.count}`,
      'shard',
    );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
