import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectPath } from '@nunchi/config';

export interface InfraServiceResult {
  running: boolean;
  started?: boolean;
  cold?: boolean;
  /** milliseconds from launch to ready */
  startedMs?: number;
  /** Cassandra: the addresses of the node(s) */
  contactPoints?: string[];
  /** Cassandra: whether it asks for credentials, and the directory of its roles' passwords if so */
  auth?: { required: boolean; dir?: string };
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
  const result = await infra.up({ log, ...(only ? { only } : {}) });
  Object.assign(process.env, localCassandraEnv(result['cassandra'], process.env));
  return result;
}

/**
 * What the local tools (npm start, the demo, the tests: scripts/test.mjs does the same) need to use the node
 * infra.mjs reports: its address when it is not the default one, and on a node with authentication the
 * migrator's credentials for the tool itself (it migrates, and makes and drops keyspaces of its own) and
 * CASSANDRA_AUTH_DIR, from which startServices gives each service its own role. Nothing already set is replaced.
 */
export function localCassandraEnv(
  cassandra: InfraServiceResult | undefined,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env['CASSANDRA_CONTACT_POINTS'] && cassandra?.contactPoints?.length)
    out['CASSANDRA_CONTACT_POINTS'] = cassandra.contactPoints.join(',');
  const dir = cassandra?.auth?.required ? cassandra.auth.dir : undefined;
  if (dir && !env['CASSANDRA_USERNAME']) {
    out['CASSANDRA_USERNAME'] = 'nunchi_migrator';
    out['CASSANDRA_PASSWORD_FILE'] = join(dir, 'nunchi_migrator');
    out['CASSANDRA_AUTH_DIR'] = dir;
    out['CASSANDRA_ROLE_PASSWORDS_DIR'] = env['CASSANDRA_ROLE_PASSWORDS_DIR'] ?? dir;
  }
  return out;
}
