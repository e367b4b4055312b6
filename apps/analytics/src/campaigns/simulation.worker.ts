/**
 * The simulation worker: a process of its own, started by the campaigns API (simulation-jobs.ts) for one
 * simulation, so that replaying history (CPU-bound for seconds to minutes) never runs in a service's event
 * loop. It reads Cassandra only (the same use case as `nunchi campaigns simulate`), reports progress and the
 * result over the IPC channel, and exits. SIGTERM (a cancellation) leaves no output file behind.
 */
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { campaignPorts, simulateCampaign, type SimulationPhase } from '@nunchi/operations';
import type { StartSimulation, WorkerMessage } from './simulation-protocol.js';

/** milliseconds between two progress messages of one phase */
const PROGRESS_EVERY_MS = 250;

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
  try {
    const config = loadConfig('analytics');
    cql = await connectCassandra(config.cassandra, { applicationName: 'nunchi-simulation' });
    // A simulation announces nothing: it changes nothing.
    const ports = campaignPorts(cql, config.domain, () => Promise.resolve());
    let lastPhase: SimulationPhase | undefined;
    let lastMs = 0;
    const result = await simulateCampaign(ports, start.target, {
      ...start.options,
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
    await cql?.shutdown().catch(() => undefined);
  }
}
