import type { SimulateOptions, SimulateResult, SimulationPhase, SimulationTarget } from '@nunchi/operations';

/** What the campaigns API sends the simulation worker (one message, then it follows the worker's). */
export interface StartSimulation {
  type: 'start';
  target: SimulationTarget;
  options: Pick<SimulateOptions, 'from' | 'to' | 'withLive' | 'sample' | 'sampleSize' | 'out'>;
}

/** What the worker sends back: progress while it runs, then a result or an error, then it exits. */
export type WorkerMessage =
  | { type: 'progress'; phase: SimulationPhase; done: number; total: number }
  /** when it starts or stops waiting for live traffic (the hot path behind: NUNCHI_SIMULATION_YIELD_LAG_MS) */
  | { type: 'waiting'; waiting: boolean }
  | ({ type: 'result' } & Omit<SimulateResult, 'shard'>)
  | { type: 'error'; name: string; message: string };
