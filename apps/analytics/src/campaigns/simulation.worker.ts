/**
 * The simulation worker: a process of its own, started by the campaigns API (simulation-jobs.ts) for one
 * simulation, so that replaying history (CPU-bound for seconds to minutes) never runs in a service's event
 * loop. It reads Cassandra only (the same use case as `nunchi campaigns simulate`), reports progress and the
 * result over the IPC channel, and exits. SIGTERM (a cancellation) leaves no output file behind. Live
 * traffic first: it runs at a lower priority (simulation-jobs.ts), and pauses while the hot path is behind
 * (its lag reports, on NATS; NUNCHI_SIMULATION_YIELD_LAG_MS).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { connectNats, holdFromMs, waitForHotPath } from '@nunchi/messaging';
import {
  campaignPorts,
  simulateCampaign,
  SIMULATION_YIELD_CALM_MS,
  SIMULATION_YIELD_MAX_WAIT_MS,
  type SimulationPhase,
} from '@nunchi/operations';
import type { StartSimulation, WorkerMessage } from './simulation-protocol.js';

/** milliseconds between two progress messages of one phase */
const PROGRESS_EVERY_MS = 250;
/** milliseconds between two looks at whether it waits for live traffic (told to the API when that changes) */
const WAITING_EVERY_MS = 500;

const send = (message: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

process.once('message', (message: StartSimulation) => {
  void run(message).finally(() => process.disconnect?.());
});

async function run(start: StartSimulation): Promise<void> {
  let cql: CqlClient | undefined;
  let nc: NatsConnection | undefined;
  let hotPath: ReturnType<typeof waitForHotPath> | undefined;
  let watching: NodeJS.Timeout | undefined;
  try {
    const config = loadConfig('analytics');
    cql = await connectCassandra(config.cassandra, { applicationName: 'nunchi-simulation' });
    const behindMs = config.domain.simulationYieldLagMs;
    if (behindMs > 0) {
      try {
        nc = await connectNats(config.nats, 'nunchi-simulation');
        const live = (hotPath = waitForHotPath(nc, behindMs, SIMULATION_YIELD_MAX_WAIT_MS, {
          holdFromMs: holdFromMs(config.domain.admissionMaxLagMs, config.domain.slaMs),
          calmMs: SIMULATION_YIELD_CALM_MS,
        }));
        let waiting = false;
        watching = setInterval(() => {
          if (live.behind() === waiting) return;
          waiting = !waiting;
          void send({ type: 'waiting', waiting });
        }, WAITING_EVERY_MS);
        await live.ready;
      } catch (error) {
        console.error(`simulation worker: not yielding to live traffic: ${(error as Error).message}`);
      }
    }
    // A simulation announces nothing: it changes nothing.
    const ports = campaignPorts(cql, config.domain, () => Promise.resolve());
    let lastPhase: SimulationPhase | undefined;
    let lastMs = 0;
    const result = await simulateCampaign(ports, start.target, {
      ...start.options,
      pace: hotPath?.wait,
      onProgress: (phase, done, total) => {
        const now = Date.now();
        if (phase === lastPhase && done < total && now - lastMs < PROGRESS_EVERY_MS) return;
        lastPhase = phase;
        lastMs = now;
        void send({ type: 'progress', phase, done, total });
      },
    });
    await send({ type: 'result', report: result.report, written: result.written, timings: result.timings });
  } catch (error) {
    const e = error as Error;
    await send({ type: 'error', name: e.name ?? 'Error', message: e.message ?? String(error) });
    process.exitCode = 1;
  } finally {
    clearInterval(watching);
    hotPath?.stop();
    await nc?.close().catch(() => undefined);
    await cql?.shutdown().catch(() => undefined);
  }
}
