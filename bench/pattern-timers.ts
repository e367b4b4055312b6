/**
 * npm run bench:pattern-timers [-- --timers N --fire M --backlog B] — the durable absence timer store
 * (docs/patterns.md, "Durable absence timers") on real Cassandra, in a keyspace of its own
 * (NUNCHI_BENCH_KEYSPACE, default nunchi_bench_timers, dropped at the end):
 *
 * 1. pending: N timers (default 100,000; the figure is 1,000,000) written through
 *    ContextRepository.writePatternState — the state row and the `pattern_timers` row in one batch, as the
 *    context service writes them — due 2 to 26 hours ahead: write rate;
 * 2. backlog: B timers (default 5,000) already due 1 to 3 minutes ago when the scanner starts: how fast the
 *    scanner (apps/context/src/absence-timers.ts, the service's own class) fires a backlog;
 * 3. paced: M timers (default 10,000) coming due evenly over 20 s, across a minute's end, while the N pending
 *    rows sit in later minutes: lateness from due time to publication, as `nunchi_absence_timer_lateness_ms`
 *    measures it.
 *
 * The scanner owns all 16 partitions; its publisher records instead of publishing (no NATS: the EVENTS round
 * trip is bench:transport's), so the figures are the store and the scan. Publications of the same timer
 * twice are counted.
 */
import { pathToFileURL } from 'node:url';
import { historyRepository, type ContextRepository, type CqlClient } from '@nunchi/cassandra';
import type { PartitionAssignments, Publisher } from '@nunchi/messaging';
import type { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { AbsenceTimers } from '../apps/context/src/absence-timers.js';
import { benchConfig, benchKeyspace, dropBenchKeyspace, percentile, benchArgs } from './support.js';

const PARTITIONS = 16;
const PATTERN_KEY = 'bench-absence#0000';
const PACED_SECONDS = 20;
const CONCURRENCY = 64;

const USAGE =
  'usage: node dist/bench/pattern-timers.js [--timers N] [--fire M] [--backlog B]\n  --timers N   timers pending in the store (default 100,000)\n  --fire M     timers fired at a paced rate (default 10,000)\n  --backlog B  timers fired as an overdue backlog (default 5,000)';

/** A number option of the command line (checked: --help, unknown options), or its default. */
function arg(name: string, fallback: number): number {
  return benchArgs(USAGE, { timers: 'number', fire: 'number', backlog: 'number' }).numbers[name] ?? fallback;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes timers `dueOf(i)` for i in [0, n) through the repository, CONCURRENCY at a time; returns ms taken. */
async function writeTimers(
  repo: ContextRepository,
  prefix: string,
  n: number,
  dueOf: (i: number) => number,
): Promise<number> {
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const dueMs = dueOf(i);
      const anchorEventId = `${prefix}-anchor-${i}`;
      const state = JSON.stringify({
        slots: {
          [PATTERN_KEY]: {
            kind: 'absence',
            timer: { dueMs, anchorMs: dueMs - 30 * 86_400_000, anchorEventId },
          },
        },
        seen: [],
      });
      await repo.writePatternState(`${prefix}-c-${i}`, state, Date.now(), [
        { partition: i % PARTITIONS, patternKey: PATTERN_KEY, set: { dueMs, anchorEventId }, cleared: null },
      ]);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return Date.now() - started;
}

export async function runPatternTimersBench(): Promise<void> {
  const pending = arg('timers', 100_000);
  const paced = arg('fire', 10_000);
  const backlog = arg('backlog', 5_000);
  const config = benchConfig({ NUNCHI_BENCH_KEYSPACE: 'nunchi_bench_timers', ...process.env });
  let cql: CqlClient | undefined;
  try {
    cql = await benchKeyspace(config);
    const repo = historyRepository(cql, config.domain);
    const now0 = Date.now();
    const pendingMs = await writeTimers(
      repo,
      'pending',
      pending,
      (i) => now0 + 2 * 3_600_000 + ((i * 7919) % 86_400) * 1000,
    );
    const writePerSecond = pending / (pendingMs / 1000);
    console.log(
      `pending: ${pending.toLocaleString('en-US')} timers written in ${(pendingMs / 1000).toFixed(1)} s (${Math.round(writePerSecond).toLocaleString('en-US')}/s)`,
    );

    // the paced timers come due after both small writes are surely done, across a minute's end (where the
    // scanner moves its cursors)
    const earliest = Date.now() + ((paced + backlog) / writePerSecond) * 2000 + 5_000;
    const firstDue = Math.ceil((earliest + PACED_SECONDS * 500) / 60_000) * 60_000 - PACED_SECONDS * 500;
    const backlogStart = Date.now();
    await writeTimers(repo, 'backlog', backlog, (i) => backlogStart - 60_000 - (i % 120) * 1000);
    const pacedWrite = Date.now();
    await writeTimers(repo, 'paced', paced, (i) => firstDue + Math.floor((i * PACED_SECONDS * 1000) / paced));
    const writtenLate = Date.now() > firstDue;

    const published = new Map<string, number>();
    let duplicates = 0;
    const lateness: number[] = [];
    let lastBacklogAt = 0;
    const publisher = {
      persist: (_subject: string, message: { id: string; occurredAtMs: number; customerId: string }) => {
        const at = Date.now();
        if (published.has(message.id)) duplicates++;
        else {
          published.set(message.id, at);
          if (message.customerId.startsWith('paced-')) lateness.push(at - message.occurredAtMs);
          else lastBacklogAt = at;
        }
        return Promise.resolve({ seq: 0, duplicate: false, stream: 'EVENTS' });
      },
    } as unknown as Publisher;
    const owned = new Set(Array.from({ length: PARTITIONS }, (_, p) => p));
    const assignments = {
      group: () => ({ onChange: () => undefined, ownership: { owned } }),
    } as unknown as PartitionAssignments;
    const campaigns = {
      current: { statefulPatterns: [{ kind: 'absence' }] },
    } as unknown as CampaignSetHolder;
    const scanner = new AbsenceTimers(assignments, repo, publisher, campaigns);
    const scanStart = Date.now();
    scanner.onApplicationBootstrap();
    await sleep(Math.max(0, firstDue + PACED_SECONDS * 1000 + 5_000 - Date.now()));
    scanner.onApplicationShutdown();

    const pacedFired = lateness.length;
    const backlogFired = [...published.keys()].filter((id) => id.includes(':backlog-')).length;
    lateness.sort((a, b) => a - b);
    console.log(
      `(paced timers written ${((Date.now() - pacedWrite) / 1000).toFixed(0)} s before the end${writtenLate ? '; SOME WRITTEN AFTER THEIR DUE TIME' : ''})`,
    );
    console.log(
      `\n| durable timer store, ${pending.toLocaleString('en-US')} pending rows, scanner on 16 partitions | figure |`,
    );
    console.log('|---|---|');
    console.log(
      `| writing pending timers (state + timer row, one batch each, ${CONCURRENCY} in flight) | ${Math.round(writePerSecond).toLocaleString('en-US')} /s |`,
    );
    console.log(
      `| backlog of ${backlog.toLocaleString('en-US')} due 1–3 min before the scanner started: fired | ${backlogFired.toLocaleString('en-US')} in ${((lastBacklogAt - scanStart) / 1000).toFixed(2)} s (${Math.round(backlogFired / ((lastBacklogAt - scanStart) / 1000)).toLocaleString('en-US')}/s) |`,
    );
    console.log(
      `| ${paced.toLocaleString('en-US')} timers due over ${PACED_SECONDS} s: fired | ${pacedFired.toLocaleString('en-US')} |`,
    );
    console.log(
      `| lateness, due → publication: p50 / p99 / max | ${percentile(lateness, 50)} / ${percentile(lateness, 99)} / ${percentile(lateness, 100)} ms |`,
    );
    console.log(`| the same timer published again | ${duplicates.toLocaleString('en-US')} |`);
    if (pacedFired !== paced || backlogFired !== backlog) {
      console.error(
        `MISSED: ${paced - pacedFired} paced and ${backlog - backlogFired} backlog timers did not fire`,
      );
      process.exitCode = 1;
    }
  } finally {
    if (cql) {
      await dropBenchKeyspace(cql, config);
      await cql.shutdown();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  arg('timers', 0); // --help and a bad option answer before anything starts
  await runPatternTimersBench();
}
