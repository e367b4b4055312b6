import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { SimulateResult, SimulationPhase } from '@nunchi/operations';
import type { StartSimulation, WorkerMessage } from './simulation-protocol.js';

/** Simulations that may run at once: each is a process that can use a whole core for minutes. */
const MAX_RUNNING = 1;
/** Finished simulations kept (with their decisions file) for their results to be fetched. */
const KEEP_FINISHED = 20;
/** Niceness of a worker: on a machine shared with live services, live decisions come first. */
const WORKER_NICENESS = 10;

export type SimulationStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface SimulationJob {
  id: string;
  campaignId: string;
  /** what was simulated: "draft (revision 3)", "as-run", "v2" */
  target: string;
  options: StartSimulation['options'];
  status: SimulationStatus;
  startedAt: string;
  finishedAt?: string;
  startedBy: string;
  progress?: {
    phase: SimulationPhase;
    done: number;
    total: number;
    /** replay phase: events per second so far */
    eventsPerSecond?: number;
    /** replay phase: seconds left at the current rate */
    etaSeconds?: number;
    /** paused while live traffic has the machine (the hot path behind: NUNCHI_SIMULATION_YIELD_LAG_MS) */
    waitingForLiveTraffic: boolean;
  };
  result?: Omit<SimulateResult, 'written' | 'shard'> & { decisionsWritten: number };
  error?: string;
}

/** Too many simulations running: retry later. */
export class SimulationBusyError extends Error {
  override readonly name = 'SimulationBusyError';
}

interface Entry {
  job: SimulationJob;
  child?: ChildProcess;
  out: string;
  replayStartedMs?: number;
}

/**
 * Simulations as worker processes (simulation.worker.ts) that this service starts and follows: each gets
 * its start message over IPC, reports progress and its result back, and writes its decisions to a file of
 * its own. The service's event loop only relays messages. Jobs live in this process's memory: a restart
 * forgets them (and kills their workers).
 */
@Injectable()
export class SimulationJobs implements OnApplicationShutdown {
  private readonly logger = new Logger('simulations');
  private readonly jobs = new Map<string, Entry>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'nunchi-simulations-'));
  private readonly worker = fileURLToPath(new URL('./simulation.worker.js', import.meta.url));

  start(
    campaignId: string,
    target: string,
    message: Omit<StartSimulation, 'type' | 'options'> & { options: Omit<StartSimulation['options'], 'out'> },
    startedBy: string,
  ): SimulationJob {
    const running = [...this.jobs.values()].filter((e) => e.job.status === 'running').length;
    if (running >= MAX_RUNNING)
      throw new SimulationBusyError(
        `${running} simulation(s) running (at most ${MAX_RUNNING} at a time, each a process of its own): retry when it has finished, or cancel it`,
      );
    const id = `sim-${randomUUID().slice(0, 12)}`;
    const out = join(this.dir, `${id}.ndjson`);
    const job: SimulationJob = {
      id,
      campaignId,
      target,
      options: message.options,
      status: 'running',
      startedAt: new Date().toISOString(),
      startedBy,
    };
    const entry: Entry = { job, out };
    this.jobs.set(id, entry);
    this.evict();

    const child = fork(this.worker, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: ['--enable-source-maps'],
    });
    entry.child = child;
    try {
      if (child.pid) setPriority(child.pid, WORKER_NICENESS);
    } catch {
      // not allowed here (some containers): it runs at normal priority
    }
    let stderr = '';
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2_000)));
    child.on('message', (m: WorkerMessage) => this.onMessage(entry, m));
    child.on('exit', (code, signal) => {
      entry.child = undefined;
      if (job.status !== 'running') return;
      this.finish(
        entry,
        'failed',
        `the worker exited (code ${code}, signal ${signal}) without a result${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`,
      );
    });
    const start: StartSimulation = {
      type: 'start',
      target: message.target,
      options: { ...message.options, out },
    };
    child.send(start);
    this.logger.log(`${id}: ${campaignId} ${target} started by ${startedBy} (worker pid ${child.pid})`);
    return job;
  }

  get(id: string): SimulationJob | undefined {
    return this.jobs.get(id)?.job;
  }

  /** The decisions file of a finished simulation, if it wrote one. */
  decisionsFile(id: string): string | undefined {
    const entry = this.jobs.get(id);
    return entry?.job.status === 'done' && existsSync(entry.out) ? entry.out : undefined;
  }

  /** Stops a running simulation (its worker leaves no output file); a finished one is left as it is. */
  cancel(id: string): SimulationJob | undefined {
    const entry = this.jobs.get(id);
    if (!entry) return undefined;
    if (entry.job.status === 'running') {
      entry.child?.kill('SIGTERM');
      this.finish(entry, 'cancelled');
    }
    return entry.job;
  }

  onApplicationShutdown(): void {
    for (const entry of this.jobs.values()) entry.child?.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private onMessage(entry: Entry, m: WorkerMessage): void {
    const job = entry.job;
    if (job.status !== 'running') return;
    if (m.type === 'progress') {
      const progress: SimulationJob['progress'] = {
        phase: m.phase,
        done: m.done,
        total: m.total,
        waitingForLiveTraffic: job.progress?.waitingForLiveTraffic ?? false,
      };
      if (m.phase === 'replay') {
        entry.replayStartedMs ??= Date.now();
        const seconds = (Date.now() - entry.replayStartedMs) / 1000;
        if (seconds > 0 && m.done > 0) {
          progress.eventsPerSecond = Math.round(m.done / seconds);
          progress.etaSeconds = Math.round(((m.total - m.done) / m.done) * seconds);
        }
      }
      job.progress = progress;
    } else if (m.type === 'waiting') {
      job.progress = { phase: 'scan', done: 0, total: 0, ...job.progress, waitingForLiveTraffic: m.waiting };
    } else if (m.type === 'result') {
      job.result = { report: m.report, timings: m.timings, decisionsWritten: m.written };
      this.finish(entry, 'done');
    } else {
      this.finish(entry, 'failed', m.message);
    }
  }

  private finish(entry: Entry, status: SimulationStatus, error?: string): void {
    entry.job.status = status;
    entry.job.finishedAt = new Date().toISOString();
    if (error) entry.job.error = error;
    this.logger.log(`${entry.job.id}: ${status}${error ? `: ${error}` : ''}`);
  }

  /** Forgets the oldest finished simulations beyond KEEP_FINISHED, and their files. */
  private evict(): void {
    const finished = [...this.jobs.values()].filter((e) => e.job.status !== 'running');
    for (const entry of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.jobs.delete(entry.job.id);
      if (existsSync(entry.out)) unlinkSync(entry.out);
    }
  }
}
