import { spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import {
  BadInputError,
  compareCampaigns as compare,
  mergeShards,
  SIMULATION_YIELD_CALM_MS,
  SIMULATION_YIELD_MAX_WAIT_MS,
  type CompareOptions,
  type CompareResult,
  period,
  simulateCampaign as simulate,
  type Shard,
  type SimulateOptions,
  type Pace,
  type SimulateResult,
  type SimulationPhase,
  type SimulationTarget,
} from '@nunchi/operations';
import type { OthersChecks, ShardResult, SimulationReport } from '@nunchi/rules';
import { progress, type Progress } from '../progress.js';
import type { Resources } from '../resources.js';
import { UsageError } from '../options.js';
import { looksLikeFile, portsOf, readText, storedSource } from './campaigns.js';

export { period };
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

/** ms a simulation waits for live traffic before the CLI says so (shorter waits are its usual pacing) */
const WAIT_NOTICE_AFTER_MS = 2_000;

/**
 * Live traffic first: a Pace that waits while a context or decision consumer holds a message older than
 * NUNCHI_SIMULATION_YIELD_LAG_MS (the hot path's lag reports, on NATS), so that a simulation run beside live
 * traffic takes what the hot path leaves of the cores and Cassandra. None when that is 0, or when NATS cannot
 * be reached (said on stderr: the simulation then runs at full speed). A wait of WAIT_NOTICE_AFTER_MS or
 * more is said on stderr, and its end: a simulation held for as long as live traffic stays behind would
 * otherwise look hung. `stop()` when the simulation is done.
 */
export async function yieldToLiveTraffic(resources: Resources): Promise<{ pace?: Pace; stop(): void }> {
  const behindMs = resources.config.domain.simulationYieldLagMs;
  if (behindMs <= 0) return { stop: () => undefined };
  try {
    const [{ holdFromMs, waitForHotPath }, session] = await Promise.all([
      import('@nunchi/messaging'),
      resources.messaging(),
    ]);
    const hotPath = waitForHotPath(session.nc, behindMs, SIMULATION_YIELD_MAX_WAIT_MS, {
      holdFromMs: holdFromMs(resources.config.domain.admissionMaxLagMs, resources.config.domain.slaMs),
      calmMs: SIMULATION_YIELD_CALM_MS,
    });
    // before the simulation starts: its waits then count only what it waited for a hot path behind
    await hotPath.ready;
    const said = announcedWaits(hotPath, (line) =>
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}${line}\n`),
    );
    return {
      pace: said.pace,
      stop: () => {
        said.stop();
        hotPath.stop();
      },
    };
  } catch (error) {
    process.stderr.write(`not yielding to live traffic: ${(error as Error).message}\n`);
    return { stop: () => undefined };
  }
}

/**
 * `hotPath.wait` as a Pace that says (`write`) when the simulation has waited WAIT_NOTICE_AFTER_MS for live
 * traffic, and when it goes on. Paces wait together (customers read in parallel share the hot path's lag):
 * a wait lasts while any of them waits.
 */
function announcedWaits(
  hotPath: { wait(): Promise<number>; worstMs(): number },
  write: (line: string) => void,
): { pace: Pace; stop(): void } {
  let waiting = 0;
  let sinceMs = 0;
  let said = false;
  const watch = setInterval(() => {
    if (waiting === 0 || said || Date.now() - sinceMs < WAIT_NOTICE_AFTER_MS) return;
    said = true;
    write(
      `waiting for live traffic: the hot path is ${(hotPath.worstMs() / 1000).toFixed(1)} s behind (Ctrl-C stops the simulation)`,
    );
  }, 250).unref();
  const pace: Pace = async () => {
    if (waiting++ === 0) sinceMs = Date.now();
    try {
      return await hotPath.wait();
    } finally {
      if (--waiting === 0 && said) {
        said = false;
        write(`live traffic caught up: going on after ${((Date.now() - sinceMs) / 1000).toFixed(1)} s`);
      }
    }
  };
  return { pace, stop: () => clearInterval(watch) };
}

/**
 * `nunchi campaigns compare <a> <b>`: both simulated on the same history (read once). Each of a and b is what
 * `simulate` takes: a file, `id` (as it ran), `id@N`, `id@draft`.
 */
export async function compareCampaigns(
  resources: Resources,
  targets: readonly [string, string],
  options: Omit<CompareOptions, 'onProgress'> & { progress?: NodeJS.WriteStream } = {},
): Promise<CompareResult> {
  const ports = await portsOf(resources);
  const { progress: stream, ...rest } = options;
  return compare(ports, [await targetOf(ports, targets[0]), await targetOf(ports, targets[1])], {
    ...rest,
    onProgress: stream ? bars(stream) : undefined,
  });
}

/** The two reports side by side, as text lines: one row per figure, then the budget burn by day and the overlap. */
export function formatComparison(c: CompareResult, labels: readonly [string, string]): string[] {
  const money = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  const { a, b } = c;
  const limits = (r: SimulationReport) =>
    [
      r.budget.limits.maxOffers !== undefined ? `maxOffers ${r.budget.limits.maxOffers}` : '',
      r.budget.limits.maxCost !== undefined ? `maxCost ${money(r.budget.limits.maxCost)}` : '',
    ]
      .filter(Boolean)
      .join(', ') || 'none';
  const rows: Array<[string, string, string]> = [
    [
      'campaign',
      `${a.campaignId}${a.versions.length ? ` (v${a.versions.join(', v')})` : ''}`,
      `${b.campaignId}${b.versions.length ? ` (v${b.versions.join(', v')})` : ''}`,
    ],
    ['events triggering', String(a.reach.eventsTriggering), String(b.reach.eventsTriggering)],
    ['  in audience', String(a.reach.eventsInAudience), String(b.reach.eventsInAudience)],
    ['  matching', String(a.reach.eventsMatching), String(b.reach.eventsMatching)],
    ['customers triggering', String(a.reach.customersTriggering), String(b.reach.customersTriggering)],
    ['customers matching', String(a.reach.customersMatching), String(b.reach.customersMatching)],
    ['customers offered', String(a.reach.customersOffered), String(b.reach.customersOffered)],
    ['offers', String(a.offers.offers), String(b.offers.offers)],
    ['value', money(a.offers.value), money(b.offers.value)],
    ['cost', money(a.offers.cost), money(b.offers.cost)],
  ];
  for (const id of [...new Set([...Object.keys(a.offers.byOffer), ...Object.keys(b.offers.byOffer)])].sort())
    rows.push([
      `  ${id}`,
      String(a.offers.byOffer[id]?.offers ?? '-'),
      String(b.offers.byOffer[id]?.offers ?? '-'),
    ]);
  rows.push(
    ['holdout (control decisions)', String(a.holdout.decisions), String(b.holdout.decisions)],
    ['caps hit', String(a.caps.cap), String(b.caps.cap)],
    ['contact policy hit', String(a.caps.contactPolicy), String(b.caps.contactPolicy)],
    ['budget', limits(a), limits(b)],
    ['budget runs out on', a.budget.exhaustedOn ?? '-', b.budget.exhaustedOn ?? '-'],
    ['offers refused (budget)', String(a.budget.refused), String(b.budget.refused)],
  );
  const days = [
    ...new Set([...a.budget.byDay.map((d) => d.day), ...b.budget.byDay.map((d) => d.day)]),
  ].sort();
  const burn = (r: SimulationReport, day: string) => {
    const d = r.budget.byDay.find((x) => x.day === day);
    return d ? `${d.offers} / ${money(d.cost)}` : '-';
  };
  if (days.length) rows.push(['budget burn (offers / cost)', '', '']);
  for (const day of days) rows.push([`  ${day}`, burn(a, day), burn(b, day)]);
  if (a.withLive) {
    const ids = [...new Set([...a.overlap, ...b.overlap].map((o) => o.campaignId))].sort();
    // as simulate's overlap lines: a live campaign is listed when it was eligible beside the draft at all
    if (ids.length) rows.push(['with live (both eligible / moved / offers lost)', '', '']);
    for (const id of ids) {
      const cell = (r: SimulationReport) => {
        const o = r.overlap.find((x) => x.campaignId === id);
        return o ? `${o.bothEligible} / ${o.movedToDraft} / ${o.offersLost}` : '-';
      };
      rows.push([`  ${id}`, cell(a), cell(b)]);
    }
  }
  const header: [string, string, string] = ['', labels[0], labels[1]];
  const widths = [0, 1, 2].map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
  const line = (r: [string, string, string]) =>
    `${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`.trimEnd();
  const o = c.overlap;
  return [
    `comparison from ${a.period.from} to ${a.period.to}${a.withLive ? ', each against the live campaigns of the time' : ''}: ${c.timings.events} events of ${c.timings.customers} customers`,
    line(header),
    ...rows.map(line),
    `overlap: ${o.eventsOfferedByBoth} events offered by both (${o.eventsOfferedByAOnly} by ${labels[0]} only, ${o.eventsOfferedByBOnly} by ${labels[1]} only), ${o.customersOfferedByBoth} customers offered by both, ${o.eventsMatchedByBoth} events both matched`,
    ...unreadableLines(a),
    'nothing was sent or written to live tables',
  ];
}

/** `--shard i/N`: the 0-based shard i of N (a Kubernetes Indexed Job's completion index is i). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
  if (!shard || shard.count < 1 || shard.count > MAX_SHARDS || shard.index >= shard.count)
    throw new UsageError(
      `--shard must be i/N with 0 <= i < N <= ${MAX_SHARDS} (the 0-based shard i of N), not "${text}"`,
    );
  return shard;
}

const MAX_SHARDS = 1024;

/** What `--budget-checks FILE` holds: for each shard of `count`, the checks the other shards made. */
export interface BudgetChecksFile {
  count: number;
  others: OthersChecks[];
}

/** The others' checks of one shard, from a file the merge wrote. */
export async function othersFromFile(file: string, shard: Shard): Promise<OthersChecks> {
  let parsed: Partial<BudgetChecksFile>;
  try {
    parsed = JSON.parse(await readText(file)) as Partial<BudgetChecksFile>;
  } catch (error) {
    throw new BadInputError(`--budget-checks ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed.count !== shard.count || !Array.isArray(parsed.others) || parsed.others.length !== shard.count)
    throw new BadInputError(
      `--budget-checks ${file} is for ${parsed.count ?? '?'} shards, not ${shard.count} (write it with \`nunchi campaigns merge --next\`)`,
    );
  return parsed.others[shard.index];
}

/** Shard results (`--shard-out` files), merged. */
export async function readShardResults(files: readonly string[]): Promise<ShardResult[]> {
  return Promise.all(
    files.map(async (file) => {
      const text = await readText(file);
      try {
        const r = JSON.parse(text) as ShardResult;
        if (!r?.shard || !r.report || !r.checks) throw new Error('not a --shard-out file');
        return r;
      } catch (error) {
        throw new BadInputError(`${file}: ${(error as Error).message.split('\n')[0]}`);
      }
    }),
  );
}

/** The merge of shard files; a set that does not belong together is a one-line error. */
export function mergeShardsOrFail(results: readonly ShardResult[]): ReturnType<typeof mergeShards> {
  try {
    return mergeShards(results);
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

/** JSON into a file, under a temporary name until complete. */
export function writeJsonFile(file: string, value: unknown): void {
  const temp = `${file}.partial-${process.pid}`;
  writeFileSync(temp, JSON.stringify(value));
  renameSync(temp, file);
}

export interface ShardedResult {
  report: SimulationReport;
  /** rounds run until the shards' budget checks agreed */
  rounds: number;
  workers: number;
  /** decisions written to --out */
  written: number;
  seconds: number;
}

/** the CLI's entry point, which workers run with --shard (whoever calls simulateWithWorkers) */
const CLI_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** the niceness of `--workers` processes (the campaigns API's simulation worker's) */
const WORKER_NICENESS = 10;

/** rounds after which a sharded simulation gives up (each round fixes at least the earliest disagreement) */
const MAX_ROUNDS = 10;

/**
 * `--workers N`: N worker processes (this CLI with `--shard i/N`) each simulate the customers of 1/N of the
 * token ring; their results are merged, exactly: while a budget ran out and the shards' budget checks
 * changed, another round runs with each shard given the others' checks (libs/rules simulation-merge.ts).
 * The period is fixed here (workers must not each take their own "now"); --out gathers the workers'
 * decision files, shard after shard.
 */
export async function simulateWithWorkers(
  resources: Resources,
  target: string,
  options: {
    workers: number;
    from?: string;
    to?: string;
    withLive?: boolean;
    sample?: number;
    out?: string;
    /** one line per round */
    log?: (line: string) => void;
  },
): Promise<ShardedResult> {
  const started = performance.now();
  const { fromMs, toMs } = period(options.from, options.to, resources.config.domain.timeZone, Date.now());
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-shards-'));
  const children = new Set<ReturnType<typeof spawn>>();
  const onSignal = () => {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const n = options.workers;
  const log = options.log ?? (() => undefined);
  try {
    let checksFile: string | undefined;
    for (let round = 1; ; round++) {
      const roundStarted = performance.now();
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const shardOut = join(dir, `shard-${i}.json`);
          const args = [
            CLI_MAIN,
            'campaigns',
            'simulate',
            target,
            '--from',
            new Date(fromMs).toISOString(),
            '--to',
            new Date(toMs).toISOString(),
            ...(options.withLive ? ['--with-live'] : []),
            ...(options.sample !== undefined ? ['--sample', String(options.sample)] : []),
            '--shard',
            `${i}/${n}`,
            '--shard-out',
            shardOut,
            ...(checksFile ? ['--budget-checks', checksFile] : []),
            ...(options.out ? ['--out', join(dir, `decisions-${i}.ndjson`)] : []),
          ];
          return runWorker(args, resources.env, children).then(() =>
            readShardResults([shardOut]).then((r) => r[0]),
          );
        }),
      );
      const merged = mergeShardsOrFail(results);
      log(
        `round ${round}: ${n} workers in ${((performance.now() - roundStarted) / 1000).toFixed(1)} s, ` +
          `${results.reduce((k, r) => k + r.report.events.replayed, 0)} events; ` +
          (merged.exact
            ? 'budget checks agree: exact'
            : 'a budget ran out and the checks changed: another round'),
      );
      if (merged.exact) {
        let written = 0;
        if (options.out) written = await gather(dir, n, options.out);
        return {
          report: merged.report,
          rounds: round,
          workers: n,
          written,
          seconds: (performance.now() - started) / 1000,
        };
      }
      if (round >= MAX_ROUNDS)
        throw new Error(
          `the shards' budget checks still changed after ${MAX_ROUNDS} rounds: run with fewer --workers`,
        );
      checksFile = join(dir, `checks-${round + 1}.json`);
      writeFileSync(
        checksFile,
        JSON.stringify({ count: n, others: merged.next! } satisfies BudgetChecksFile),
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one worker; rejects with its last line of stderr when it fails. */
function runWorker(
  args: string[],
  env: Record<string, string | undefined>,
  children: Set<ReturnType<typeof spawn>>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    children.add(child);
    try {
      // As the campaigns API's simulation worker: live services on the same cores come first.
      if (child.pid) setPriority(child.pid, WORKER_NICENESS);
    } catch {
      // not allowed here (some containers): it runs at normal priority
    }
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      const shard = args[args.indexOf('--shard') + 1];
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `worker ${shard} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').at(-1) ?? ''}`,
          ),
        );
    });
  });
}

/** The workers' decision files, shard after shard, into `out` (under a temporary name until complete). */
async function gather(dir: string, n: number, out: string): Promise<number> {
  const temp = `${out}.partial-${process.pid}`;
  try {
    const sink = createWriteStream(temp);
    let lines = 0;
    for (let i = 0; i < n; i++) {
      const file = join(dir, `decisions-${i}.ndjson`);
      const source = createReadStream(file);
      source.on('data', (chunk: Buffer | string) => {
        for (const c of Buffer.from(chunk)) if (c === 10) lines++;
      });
      await pipeline(source, sink, { end: false });
    }
    await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())));
    renameSync(temp, out);
    return lines;
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // nothing written
    }
    throw error;
  }
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

/** "200000 events of 5000 customers in 9.5 s (21053 events/s): read 4.1 s (48780 events/s), …": a run's times. */
export function formatTimings(t: SimulateResult['timings']): string {
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const rate = (ms: number) => Math.round(t.events / Math.max(0.001, ms / 1000));
  const total = t.readMs + t.replayMs;
  return (
    `${t.events} events of ${t.customers} customers in ${s(total)} s (${rate(total)} events/s): ` +
    `read from Cassandra ${s(t.readMs)} s (${rate(t.readMs)} events/s` +
    (t.packedEvents
      ? `, ${Math.round((100 * t.packedEvents) / Math.max(1, t.events))} % from packed weeks`
      : '') +
    `), ` +
    `replay in memory ${s(t.replayMs)} s (${rate(t.replayMs)} events/s; ${rate(t.replayCpuMs)} events/s of CPU)` +
    (t.yieldedMs >= 100
      ? `; ${s(t.yieldedMs)} s of it waiting for live traffic (the hot path was behind)`
      : '')
  );
}

/** The customers a report left out, if any: the figures do not count them. */
export function unreadableLines(r: SimulationReport): string[] {
  if (!r.unreadable) return [];
  return [
    `left out: ${r.unreadable.customers} customers whose stored history could not be opened, e.g. ${r.unreadable.reason}`,
  ];
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
    ...unreadableLines(r),
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
