import { pathToFileURL } from 'node:url';
import { projectPath } from '@nunchi/config';

export interface InfraServiceResult {
  running: boolean;
  started?: boolean;
  cold?: boolean;
  /** milliseconds from launch to ready */
  startedMs?: number;
}

interface InfraModule {
  up(options?: {
    only?: string[];
    quiet?: boolean;
    log?: (line: string) => void;
  }): Promise<Record<string, InfraServiceResult>>;
}

/**
 * Brings up Cassandra, NATS and Zipkin unless they already answer (scripts/infra.mjs, also `npm run infra:up`);
 * `only` some of them: a run with a NATS server of its own (the demo, benchmarks, chaos) needs no other.
 */
export async function ensureInfra(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  only?: Array<'cassandra' | 'nats' | 'zipkin'>,
): Promise<Record<string, InfraServiceResult>> {
  const infra = (await import(pathToFileURL(projectPath('scripts', 'infra.mjs')).href)) as InfraModule;
  return infra.up({ log, ...(only ? { only } : {}) });
}
