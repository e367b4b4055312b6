import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where nats-server is looked for (NATS_SERVER_BIN first), like scripts/test.mjs and the infra script. */
const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export function natsServerBinary(): string | undefined {
  const configured = process.env.NATS_SERVER_BIN;
  if (configured) return configured;
  return CANDIDATES.find((p) => existsSync(p));
}

export interface TestNatsServer {
  readonly url: string;
  readonly port: number;
  /** the store directory (JetStream) and config file live here; removed by stop() */
  readonly dir: string;
  /** what the server has logged so far (permission violations, …) */
  log(): string;
  stop(): Promise<void>;
  /** kill -9 (or the signal given): the store stays, restart() brings the same server back on the same port */
  crash(signal?: NodeJS.Signals): Promise<void>;
  /** starts the server again on the same port and store (after crash) */
  restart(): Promise<void>;
}

export interface TestNatsOptions {
  /**
   * the body of a nats-server configuration file; `{{store}}` is replaced with the store directory.
   * @default JetStream with its defaults
   */
  config?: string;
  /** milliseconds to wait for the port; @default 10_000 */
  startTimeoutMs?: number;
}

/**
 * A nats-server of a test's own, on a free port of 127.0.0.1, with a temporary JetStream store: for tests
 * that change server-wide things (limits, accounts) and so cannot share the suite's server.
 */
export async function startNatsServer(options: TestNatsOptions = {}): Promise<TestNatsServer> {
  const binary = natsServerBinary();
  if (!binary) throw new Error('nats-server is not installed (or set NATS_SERVER_BIN)');
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-nats-'));
  const store = join(dir, 'js');
  const port = await freePort();
  const configFile = join(dir, 'nats.conf');
  const body = options.config ?? 'jetstream { store_dir: "{{store}}" }';
  writeFileSync(configFile, body.replaceAll('{{store}}', store));
  let stderr = '';
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-c', configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
    while (!(await answers(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`nats-server did not start on port ${port}: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    }
  };
  const stop = async () => {
    await kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    log: () => stderr,
    stop,
    crash: (signal: NodeJS.Signals = 'SIGKILL') => kill(signal),
    restart: launch,
  };
}

/** A TCP port of 127.0.0.1 nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
