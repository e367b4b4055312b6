/**
 * npm run bench:patterns -- --esper (or `node dist/bench/patterns-esper.js [events] [customers]`): the same
 * generated events through Nunchi's pattern model (libs/rules/src/patterns) and through Esper, a CEP peer
 * run by a small harness outside the product (bench/esper/EsperPeer.java, EPL written to Nunchi's documented
 * semantics: docs/patterns.md, "Beside Esper and Flink CEP"). Three patterns: a sequence (app view of
 * cat-1, then a visit, within 2 h), a count (exactly the 3rd visit in 7 days) and an absence (no purchase
 * within 30 days of a purchase), in event time. Compares the match sets event by event and exits non-zero
 * when they differ; prints the cost per event of both, side by side.
 *
 * Esper 8.9 is fetched once from Maven Central with `mvn dependency:copy-dependencies` into .nunchi/esper/lib
 * (as scripts/infra.mjs fetches Cassandra) and the harness compiled with javac into .nunchi/esper/classes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectPath } from '@nunchi/config';
import type { AcceptedEvent } from '@nunchi/contracts';
import { prng } from '@nunchi/testing';
import {
  EMPTY_PATTERN_STATE,
  compilePattern,
  fireAbsence,
  foldPatterns,
  isStateful,
  type PatternDefinition,
  type PatternState,
  type StatefulPattern,
} from '@nunchi/rules';
import { benchArgs } from './support.js';

const ESPER_VERSION = '8.9.0';
const TZ = 'Asia/Seoul';
const T0 = Date.parse('2026-01-01T00:00:00+09:00');
const MINUTE = 60_000;
const DAY = 86_400_000;

type PatternName = 'sequence' | 'count' | 'absence';
const NAMES: readonly PatternName[] = ['sequence', 'count', 'absence'];

const DEFINITIONS: Record<PatternName, { def: PatternDefinition; trigger: string[] }> = {
  sequence: {
    def: {
      sequence: {
        steps: [
          { types: ['product_view'], channels: ['app'], where: "'cat-1' in event.categories" },
          { types: ['visit'] },
        ],
        within: '2h',
      },
    },
    trigger: ['visit'],
  },
  count: { def: { count: { of: { types: ['visit'] }, within: '7d', nth: 3 } }, trigger: ['visit'] },
  absence: {
    def: { absence: { after: { types: ['purchase'] }, expect: { types: ['purchase'] }, within: '30d' } },
    trigger: ['absence'],
  },
};

/** A pattern compiled as a campaign would be, which must keep state (bench/patterns.ts uses it too). */
export function statefulPattern(id: string, def: PatternDefinition, triggerTypes: string[]): StatefulPattern {
  const p = compilePattern(id, def, triggerTypes);
  if (!isStateful(p)) throw new Error(`${id} is not stateful`);
  return p;
}

const compiled = (name: PatternName): StatefulPattern =>
  statefulPattern(name, DEFINITIONS[name].def, DEFINITIONS[name].trigger);

/** The fields both sides read; written as JSON lines for the harness. */
interface StreamEvent {
  id: string;
  customerId: string;
  type: string;
  channel: string;
  occurredAtMs: number;
  categories: string[];
}

/**
 * Per customer a timeline of sessions (gaps of minutes) and quiet spells (days), merged in event time.
 * Times are whole minutes, so events at the same minute and gaps of exactly 2 h, 7 d or 30 d occur: the
 * boundaries (`within` inclusive, windows (t − d, t], a timer due at an event's time) are exercised.
 */
function generate(events: number, customers: number, seed = 16): StreamEvent[] {
  const rnd = prng(seed); // seeded: both sides and every rerun see the same stream
  const perCustomer = Math.ceil(events / customers);
  const out: StreamEvent[] = [];
  for (let c = 0; c < customers; c++) {
    let t = T0 + Math.floor(rnd() * 30 * 24 * 60) * MINUTE;
    for (let n = 0; n < perCustomer && out.length < events; n++) {
      const r = rnd();
      // 0–3 h in a session (exactly 2 h sometimes), else 1–40 days away (exactly 7 or 30 d sometimes)
      t +=
        r < 0.75
          ? Math.floor(rnd() * 181) * MINUTE
          : r < 0.78
            ? 120 * MINUTE
            : r < 0.8
              ? 7 * DAY
              : r < 0.82
                ? 30 * DAY
                : Math.floor((1 + rnd() * 39) * 24 * 60) * MINUTE;
      const k = rnd();
      const type =
        k < 0.3
          ? 'product_view'
          : k < 0.55
            ? 'visit'
            : k < 0.68
              ? 'purchase'
              : k < 0.84
                ? 'page_view'
                : 'app_open';
      const channel = type === 'visit' || type === 'purchase' ? 'pos' : rnd() < 0.6 ? 'app' : 'web';
      out.push({
        id: `e-${c}-${n}`,
        customerId: `c-${c}`,
        type,
        channel,
        occurredAtMs: t,
        categories: type === 'product_view' ? [`cat-${Math.floor(rnd() * 4)}`] : [],
      });
    }
  }
  // stable: a customer's events keep their order at equal times
  return out.sort((a, b) => a.occurredAtMs - b.occurredAtMs);
}

function accepted(e: StreamEvent): AcceptedEvent {
  return {
    id: e.id,
    type: e.type as AcceptedEvent['type'],
    channel: e.channel,
    occurredAt: new Date(e.occurredAtMs).toISOString(),
    occurredAtMs: e.occurredAtMs,
    receivedAtMs: e.occurredAtMs,
    customerId: e.customerId,
    storeId: 's-1',
    payload: e.type === 'product_view' ? { category: e.categories[0] } : {},
  };
}

/**
 * The pure model over the stream, as simulation runs it (Simulation.stepAll): per customer, absence timers
 * due by an event's time fire before it is folded; at the end, those due by `endMs`. Returns the match ids
 * (completing event, or the absence's anchor) per pattern and ns per event.
 */
function nunchi(
  stream: readonly AcceptedEvent[],
  names: readonly PatternName[],
  endMs: number,
): { nsPerEvent: number; matches: Map<PatternName, string[]> } {
  const patterns = names.map(compiled);
  const absence = patterns.find((p) => p.kind === 'absence');
  const matches = new Map<PatternName, string[]>(names.map((n) => [n, []]));
  const states = new Map<string, PatternState>();
  const fire = (customerId: string, state: PatternState, nowMs: number): PatternState => {
    if (absence?.kind !== 'absence') return state;
    const fired = fireAbsence(state, customerId, absence, nowMs, TZ);
    if (!fired) return state;
    matches.get('absence')!.push(String(fired.event.payload.anchorEventId));
    return fired.state;
  };
  const started = process.hrtime.bigint();
  for (const e of stream) {
    const before = fire(e.customerId, states.get(e.customerId) ?? EMPTY_PATTERN_STATE, e.occurredAtMs);
    const fold = foldPatterns(before, e, patterns);
    for (const id of fold.matched) matches.get(id as PatternName)!.push(e.id);
    states.set(e.customerId, fold.state);
  }
  for (const [customerId, state] of states) fire(customerId, state, endMs);
  const ns = Number(process.hrtime.bigint() - started);
  return { nsPerEvent: ns / stream.length, matches };
}

interface EsperRun {
  patterns: string;
  nsPerEvent: number;
  matches: Record<string, number>;
}
interface EsperReport {
  esper: string | null;
  events: number;
  runs: EsperRun[];
}

class PeerUnavailable extends Error {}

function run(cmd: string, args: string[], what: string, logFile?: string): string {
  const r = spawnSync(cmd, args, { cwd: projectPath(), encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (logFile) writeFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.error) throw new PeerUnavailable(`${what}: could not run ${cmd} (${r.error.message})`);
  if (r.status !== 0)
    throw new PeerUnavailable(
      `${what}: ${cmd} exited ${r.status}${logFile ? `; see ${logFile}` : ''}\n${(r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n')}`,
    );
  return r.stdout;
}

/** Esper's jars (once, from Maven Central) and the compiled harness (again when its source changed). */
function preparePeer(): { classpath: string } {
  const home = projectPath('.nunchi', 'esper');
  const lib = join(home, 'lib');
  const classes = join(home, 'classes');
  mkdirSync(home, { recursive: true });
  if (!existsSync(join(lib, `esper-runtime-${ESPER_VERSION}.jar`))) {
    console.log(`fetching Esper ${ESPER_VERSION} from Maven Central into .nunchi/esper/lib (once)`);
    rmSync(lib, { recursive: true, force: true });
    run(
      'mvn',
      [
        '-B',
        '-q',
        '-Dstyle.color=never',
        '-f',
        projectPath('bench', 'esper', 'pom.xml'),
        `-Desper.version=${ESPER_VERSION}`,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${lib}`,
      ],
      `Maven could not fetch Esper ${ESPER_VERSION} (is Maven installed and Maven Central reachable?)`,
      join(home, 'maven.log'),
    );
  }
  const source = projectPath('bench', 'esper', 'EsperPeer.java');
  const built = join(classes, 'EsperPeer.class');
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(classes, { recursive: true });
    run(
      'javac',
      ['-d', classes, '-cp', `${lib}/*`, source],
      'javac could not compile bench/esper/EsperPeer.java',
    );
  }
  return { classpath: `${lib}/*:${classes}` };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

export function runPatternsBesideEsper(events = 200_000, customers = 4_000): void {
  const stream = generate(events, customers);
  const endMs = stream[stream.length - 1].occurredAtMs;
  const acceptedStream = stream.map(accepted);
  nunchi(acceptedStream, NAMES, endMs); // warm-up
  // the median of 3 runs, as the harness does: the machine is shared
  const median = (names: readonly PatternName[]) => {
    const runs = [0, 1, 2].map(() => nunchi(acceptedStream, names, endMs));
    const ns = runs.map((r) => r.nsPerEvent).sort((a, b) => a - b)[1];
    return { ...runs[0], nsPerEvent: ns };
  };
  const ours = new Map<string, ReturnType<typeof nunchi>>();
  for (const n of NAMES) ours.set(n, median([n]));
  ours.set('all', median(NAMES));
  const types = new Map<string, number>();
  for (const e of stream) types.set(e.type, (types.get(e.type) ?? 0) + 1);
  console.log(
    `\n${fmt(stream.length)} events of ${fmt(customers)} customers over ${fmt((endMs - stream[0].occurredAtMs) / DAY)} days, ` +
      `event time, whole minutes (${[...types].map(([t, n]) => `${t} ${fmt(n)}`).join(', ')})`,
  );

  let peer: EsperReport;
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-esper-'));
  try {
    const { classpath } = preparePeer();
    const eventsFile = join(dir, 'events.jsonl');
    const matchesFile = join(dir, 'matches.tsv');
    writeFileSync(eventsFile, stream.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const out = run(
      'java',
      ['-Xmx1g', '-cp', classpath, 'EsperPeer', eventsFile, matchesFile, String(endMs)],
      'the Esper harness failed',
    );
    peer = JSON.parse(out.trim().split('\n').pop()!) as EsperReport;
    const theirs = new Map<string, Set<string>>();
    for (const line of readFileSync(matchesFile, 'utf8').split('\n')) {
      if (!line) continue;
      const [name, id] = line.split('\t');
      if (!theirs.has(name)) theirs.set(name, new Set());
      theirs.get(name)!.add(id);
    }
    compare(ours, theirs, peer);
  } catch (e) {
    if (e instanceof PeerUnavailable) {
      console.error(`\nEsper peer NOT run: ${e.message}`);
      process.exitCode = 3;
      return;
    }
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compare(
  ours: Map<string, ReturnType<typeof nunchi>>,
  theirs: Map<string, Set<string>>,
  peer: EsperReport,
): void {
  const esperRun = (name: string) => peer.runs.find((r) => r.patterns === name);
  const overlapping = esperRun('sequence-overlapping')?.matches['sequence-overlapping'] ?? 0;
  const rows: string[][] = [];
  const disagreements: string[] = [];
  for (const n of NAMES) {
    const mine = ours.get(n)!.matches.get(n)!;
    const mineSet = new Set(mine);
    const peerSet = theirs.get(n) ?? new Set<string>();
    const onlyOurs = mine.filter((id) => !peerSet.has(id));
    const onlyPeer = [...peerSet].filter((id) => !mineSet.has(id));
    const peerCount = esperRun(n)?.matches[n] ?? 0;
    if (onlyOurs.length || onlyPeer.length || peerCount !== mine.length || mineSet.size !== mine.length)
      disagreements.push(
        `${n}: Nunchi ${mine.length}, Esper ${peerCount}; only Nunchi: ${onlyOurs.slice(0, 5).join(' ')}; only Esper: ${onlyPeer.slice(0, 5).join(' ')}`,
      );
    rows.push([
      n,
      fmt(mine.length),
      fmt(peerCount),
      fmt(ours.get(n)!.nsPerEvent),
      fmt(esperRun(n)?.nsPerEvent ?? NaN),
    ]);
  }
  const all = esperRun('sequence+count+absence');
  const allMatches = (all && NAMES.map((n) => all.matches[n] ?? 0)) ?? [];
  NAMES.forEach((n, i) => {
    if (allMatches[i] !== ours.get('all')!.matches.get(n)!.length)
      disagreements.push(
        `${n} among all three: Nunchi ${ours.get('all')!.matches.get(n)!.length}, Esper ${allMatches[i]}`,
      );
  });
  rows.push([
    'all three at once',
    fmt(NAMES.reduce((s, n) => s + ours.get('all')!.matches.get(n)!.length, 0)),
    fmt(allMatches.reduce((s, x) => s + x, 0)),
    fmt(ours.get('all')!.nsPerEvent),
    fmt(all?.nsPerEvent ?? NaN),
  ]);
  console.log(
    `\n| same events, event time | Nunchi matches | Esper ${peer.esper ?? ESPER_VERSION} matches | Nunchi ns/event | Esper ns/event |`,
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    `\nEsper's default for the sequence (every A -> B without @SuppressOverlappingMatches: one match per pending view) ` +
      `gives ${fmt(overlapping)} matches on the same events, where Nunchi's consumption gives ${fmt(ours.get('sequence')!.matches.get('sequence')!.length)} (docs/patterns.md, difference 1).`,
  );
  if (disagreements.length) {
    console.error(`\nMATCHES DISAGREE:\n${disagreements.join('\n')}`);
    process.exitCode = 1;
  } else console.log('Same matches, event by event, for every pattern.');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { rest } = benchArgs(
    'usage: node dist/bench/patterns-esper.js [EVENTS] [CUSTOMERS]\n  EVENTS     events generated (a default when omitted)\n  CUSTOMERS  customers they come from',
    {},
    'EVENTS CUSTOMERS',
  );
  const [events, customers] = rest.map(Number);
  runPatternsBesideEsper(events || undefined, customers || undefined);
}
