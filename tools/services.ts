import { spawn, type ChildProcess } from 'node:child_process';
import {
  DEFAULT_PORTS,
  loadConfig,
  natsIdentityEnv,
  projectPath,
  turnedOff,
  type ServiceName,
} from '@nunchi/config';
import { join } from 'node:path';
import { SERVICE_ROLES } from '@nunchi/cassandra';
import { useLocalAdminKey } from './local-admin.js';
import { killOnExit } from './child-processes.js';

export const SERVICES = [
  'ingestion',
  'context',
  'decision',
  'analytics',
] as const satisfies readonly ServiceName[];

export interface RunningServices {
  /** base URL of each service's HTTP API */
  urls: Record<(typeof SERVICES)[number], string>;
  stop(): Promise<void>;
  /** resolves with the service that exited unexpectedly */
  crashed: Promise<string>;
  /** process id of each service (benchmarks read their CPU time) */
  pids: Partial<Record<(typeof SERVICES)[number], number>>;
  /** in development mode: the local admin API key, which this process's fetch sends to the services (tools/local-admin.ts) */
  adminKey?: string;
}

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const stripAnsi = (line: string) => line.replace(ANSI_ESCAPE, '');

/**
 * Node flags per service, as deployed. Ingestion allocates a little per event at a high rate: a 32 MB young
 * generation (V8's default is 16 MB) cut its CPU per event by ~12 % in bench:ingestion.
 */
export const NODE_FLAGS: Partial<Record<(typeof SERVICES)[number], string[]>> = {
  ingestion: ['--max-semi-space-size=32'],
};

const COLOURS = { ingestion: 36, context: 32, decision: 35, analytics: 33 } as const;

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** where each service's output lines go; @default prefixed to stdout */
  log?: (service: string, line: string) => void;
  /** milliseconds to wait for every /ready; @default 60_000 */
  readyTimeoutMs?: number;
  services?: ReadonlyArray<(typeof SERVICES)[number]>;
  /** extra Node flags for every service, e.g. `--cpu-prof` (the bench's --profile) */
  nodeArgs?: string[];
  /**
   * environment of one service on top of `env`; @default its own NATS identity, the seed of its name in the
   * local auth directory (NUNCHI_NATS_AUTH_DIR: libs/config natsIdentityEnv), if there is one
   */
  envOf?: (service: (typeof SERVICES)[number]) => Record<string, string | undefined>;
}

/** Starts the services as child processes (exactly as deployed: one process each) and waits until all are ready. */
export async function startServices(options: StartOptions = {}): Promise<RunningServices> {
  const env = { ...process.env, ...options.env };

  const log =
    options.log ??
    ((service: string, line: string) =>
      process.stdout.write(
        `\x1b[${COLOURS[service as keyof typeof COLOURS] ?? 37}m${service.padEnd(9)}\x1b[0m ${line}\n`,
      ));
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let onCrash: (name: string) => void = () => undefined;
  const crashed = new Promise<string>((resolve) => (onCrash = resolve));
  const urls = {} as RunningServices['urls'];
  const pids: RunningServices['pids'] = {};

  const portOf = (name: (typeof SERVICES)[number]) =>
    Number(env[`NUNCHI_${name.toUpperCase()}_PORT`] ?? DEFAULT_PORTS[name]);
  // Every HTTP route needs a caller: in development mode (npm start, the demo, benchmarks, tests) the tools act
  // as a local admin toward every service of this environment (those started here and any started beside them).
  const adminKey = loadConfig('cli', { ...env, OTEL_TRACES_EXPORTER: 'none' }).devMode
    ? await useLocalAdminKey(
        SERVICES.map((name) => `http://127.0.0.1:${portOf(name)}`),
        env,
      )
    : undefined;
  for (const name of options.services ?? SERVICES) {
    const port = portOf(name);
    urls[name] = `http://127.0.0.1:${port}`;
    const child = spawn(
      process.execPath,
      [
        '--enable-source-maps',
        ...(NODE_FLAGS[name] ?? []),
        ...(options.nodeArgs ?? []),
        projectPath('dist', 'apps', name, 'src', 'main.js'),
      ],
      {
        env: {
          ...env,
          ...serviceRoleEnv(name, env),
          ...(options.envOf ?? ((s) => natsIdentityEnv(s, env)))(name),
          FORCE_COLOR: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.set(name, child);
    killOnExit(child);
    pids[name] = child.pid;
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          log(name, stripAnsi(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (!stopping) {
        log(name, `exited unexpectedly (code ${code}, signal ${signal})`);
        onCrash(name);
      }
    });
  }

  const stop = async () => {
    stopping = true;
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    await Promise.race([
      Promise.all(Object.entries(urls).map(([name, url]) => waitReady(name, url, deadline))),
      crashed.then((name) => Promise.reject(new Error(`${name} exited during start-up (its log is above)`))),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, stop, crashed, pids, adminKey };
}

async function waitReady(name: string, url: string, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/ready`);
      if (response.ok) return;
      last = await response.text();
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready in time: ${last}`);
}

/**
 * Each service logs in to Cassandra as its own role when CASSANDRA_AUTH_DIR names the directory of the local
 * node's role passwords (tools/infra.ts localCassandraEnv): the same least privilege as in production.
 */
function serviceRoleEnv(
  name: (typeof SERVICES)[number],
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const dir = env['CASSANDRA_AUTH_DIR'];
  if (!dir || turnedOff(dir)) return {};
  const role = SERVICE_ROLES[name];
  return {
    CASSANDRA_USERNAME: role,
    CASSANDRA_PASSWORD_FILE: join(dir, role),
    CASSANDRA_PASSWORD: undefined,
  };
}
