import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCassandra, migrate } from '@nunchi/cassandra';
import { DEFAULT_NATS_URL, projectPath, type CassandraConfig } from '@nunchi/config';
import { ensureNatsAuth } from './nats-auth.js';
import { killOnExit } from './child-processes.js';

export interface OwnNats {
  url: string;
  /** 0 when the configured server is used instead */
  pid: number;
  stop(): void;
}

/**
 * A NATS server of a run's own (demo, benchmark), so its streams start empty and other work on the machine's
 * server cannot mix in. It runs with the project's NATS identities (tools/nats-auth.ts): the services started
 * by tools/services.ts connect as themselves, the run's own connections as the operator (libs/config finds
 * their seeds in the same directory). Falls back to NATS_URL when nats-server is not installed.
 */
export async function startOwnNats(port: number, log: (line: string) => void): Promise<OwnNats> {
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  );
  if (!binary) {
    const url = process.env['NATS_URL'] ?? DEFAULT_NATS_URL;
    log(`nats-server not found: using ${url} (its streams may hold earlier runs' messages)`);
    return { url, pid: 0, stop: () => undefined };
  }
  if (await portAnswers(port))
    throw new Error(`port ${port} is taken: stop what listens there, or the earlier run that left it`);
  const store = mkdtempSync(join(tmpdir(), 'nunchi-nats-'));
  const auth = ensureNatsAuth({ env: process.env });
  const conf = auth.writeServerConfig(join(store, 'nats.conf'), {
    storeDir: join(store, 'js'),
    host: '127.0.0.1',
    port,
  });
  const child = spawn(binary, ['-js', '-c', conf], { stdio: 'ignore' });
  killOnExit(child);
  const url = `nats://127.0.0.1:${port}`;
  log(`NATS ${url} with the project's identities (${auth.dir})`);
  const deadline = Date.now() + 10_000;
  while (!(await portAnswers(port))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`nats-server did not start on ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid ?? 0,
    stop: () => {
      child.once('exit', () => rmSync(store, { recursive: true, force: true }));
      child.kill('SIGTERM');
    },
  };
}

/** Drops the keyspace and migrates it anew: a run that starts from nothing. */
export async function freshKeyspace(config: CassandraConfig): Promise<void> {
  const admin = await connectCassandra(config, { keyspace: false });
  try {
    // Only when it exists: on a node with authorization even DROP … IF EXISTS needs the DROP permission, which
    // the migrator has on the keyspaces it created, not on all of them (docs/security.md, Cassandra roles).
    const existing = await admin.execute(
      'SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?',
      [config.keyspace],
      { prepare: true },
    );
    if (existing.rowLength > 0)
      await admin.execute(`DROP KEYSPACE ${config.keyspace}`, [], { readTimeout: 60_000 });
  } finally {
    await admin.shutdown();
  }
  await migrate(config, projectPath('cql'));
}

/** Resolves true once something accepts TCP connections on the port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
