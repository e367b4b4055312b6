#!/usr/bin/env node
// npm test: unit specs (pure code), then medium (*.medium.ts) and end-to-end tests (test/*.e2e.ts) against a real Cassandra, NATS and
// Zipkin, which this script starts when they are not running. Expects a build in dist/ (npm test builds first).
//   node scripts/test.mjs            everything
//   node scripts/test.mjs --unit     unit specs only (no infrastructure)
//   node scripts/test.mjs <filter>   only test files whose path contains <filter>
//   node scripts/test.mjs --cluster  the cluster tests (test/*.cluster.ts: three hosts in network namespaces,
//                                    needs root; npm run test:cluster), which npm test leaves out
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const clusterOnly = args.includes('--cluster');
const filter = args.find((a) => !a.startsWith('--'));

if (!existsSync(dist)) {
  console.error('No build found: run "npm run build" first (npm test does).');
  process.exit(1);
}

function find(dir, suffix, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, suffix, out);
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}

const select = (files) => files.filter((f) => !filter || relative(root, f).includes(filter)).sort();
const unit = clusterOnly ? [] : select(find(dist, '.spec.js'));
// Medium tests (*.medium.ts: one repository or component against the real Cassandra/NATS) and end-to-end tests.
const e2e = unitOnly
  ? []
  : clusterOnly
    ? select(find(join(dist, 'test'), '.cluster.js'))
    : select([...find(dist, '.medium.js'), ...find(join(dist, 'test'), '.e2e.js')]);

/** Test env: a keyspace of its own and ports that do not clash with `npm start` (each can be overridden). */
const testEnv = {
  ...process.env,
  CASSANDRA_KEYSPACE: process.env.CASSANDRA_KEYSPACE ?? 'nunchi_test',
  NUNCHI_INGESTION_PORT: process.env.NUNCHI_INGESTION_PORT ?? '3101',
  NUNCHI_CONTEXT_PORT: process.env.NUNCHI_CONTEXT_PORT ?? '3102',
  NUNCHI_DECISION_PORT: process.env.NUNCHI_DECISION_PORT ?? '3103',
  NUNCHI_ANALYTICS_PORT: process.env.NUNCHI_ANALYTICS_PORT ?? '3104',
  NODE_ENV: 'test',
  // Admission control refuses events while a consumer is behind; bursts on a busy test machine would trip it
  // in tests about other things. test/overload.e2e.ts turns it on for itself.
  NUNCHI_ADMISSION_MAX_LAG_MS: process.env.NUNCHI_ADMISSION_MAX_LAG_MS ?? '0',
  // Every context start would preload the customers every earlier test made active (thousands by the end of
  // the suite), beside the test's own events. test/hot-tier-preload.e2e.ts turns it on for itself.
  NUNCHI_PRELOAD_DAYS: process.env.NUNCHI_PRELOAD_DAYS ?? '0',
};

/**
 * A NATS server of the tests' own (empty streams, no consumers left by other work on this machine), unless
 * NATS_URL is set or nats-server is not installed; on NUNCHI_TEST_NATS_PORT (14297). It runs with the
 * project's NATS identities and permissions (tools/nats-auth.ts, seeds in NUNCHI_NATS_AUTH_DIR or
 * .nunchi/nats-auth), so the whole suite runs under them: the tests and the CLI act as `operator`, and every
 * service started through tools/services.ts as itself. Stopped when the tests end.
 */
const TEST_NATS_PORT = Number(process.env.NUNCHI_TEST_NATS_PORT ?? 14297);
let ownNats;
if (e2e.length) {
  // The identities exist whichever server the tests use (one without accounts ignores them).
  const { ensureNatsAuth } = await import(pathToFileURL(join(dist, 'tools', 'nats-auth.js')).href);
  const auth = ensureNatsAuth({ env: process.env });
  Object.assign(testEnv, {
    NUNCHI_NATS_AUTH_DIR: auth.dir,
    NATS_USER: process.env.NATS_USER ?? 'operator',
    ...(process.env.NATS_USER ? {} : { NATS_NKEY_SEED_FILE: auth.seedFile('operator') }),
  });
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  );
  if (binary && !process.env.NATS_URL) {
    const store = mkdtempSync(join(tmpdir(), 'nunchi-test-nats-'));
    const conf = auth.writeServerConfig(join(store, 'nats.conf'), {
      storeDir: join(store, 'js'),
      host: '127.0.0.1',
      port: TEST_NATS_PORT,
    });
    // Its log tells which identity was refused what: a service using a subject its permissions lack shows here.
    mkdirSync(join(root, '.nunchi', 'logs'), { recursive: true });
    const natsLog = join(root, '.nunchi', 'logs', 'test-nats.log');
    writeFileSync(natsLog, '');
    ownNats = spawn(binary, ['-js', '-c', conf, '-l', natsLog], { stdio: 'ignore' });
    process.on('exit', () => {
      const violations = readFileSync(natsLog, 'utf8')
        .split('\n')
        .filter((l) => /Violation/.test(l));
      if (violations.length)
        console.log(
          `the tests' NATS refused ${violations.length} operations (${relative(root, natsLog)}), e.g.\n  ${violations.slice(0, 3).join('\n  ')}`,
        );
      // The store is thrown away: no need for a clean shutdown. A server still flushing as the directory is
      // removed made rmSync throw ENOTEMPTY here, turning a green run's exit code red; retry, then leave it.
      ownNats.kill('SIGKILL');
      try {
        rmSync(store, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      } catch (error) {
        console.error(`left the test NATS store ${store}: ${error.message}`);
      }
    });
    const deadline = Date.now() + 10_000;
    while (!(await portAnswers(TEST_NATS_PORT))) {
      if (Date.now() > deadline || ownNats.exitCode !== null) {
        console.error(`nats-server did not start on port ${TEST_NATS_PORT} (NUNCHI_TEST_NATS_PORT)`);
        process.exit(1);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    testEnv.NATS_URL = `nats://127.0.0.1:${TEST_NATS_PORT}`;
    console.log(
      `tests use a NATS server of their own at ${testEnv.NATS_URL}, with the project's identities (${relative(root, auth.dir) || auth.dir})`,
    );
  }
}

function portAnswers(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

if (e2e.length) {
  const started = Date.now();
  const infra = await import(pathToFileURL(join(root, 'scripts', 'infra.mjs')).href);
  // the tests' environment: their own NATS (found running), or the one NATS_URL names
  const { cassandra } = await infra.up({ env: testEnv, log: (line) => console.log(`infra ${line}`) });
  // The node infra.mjs reports (CASSANDRA_NATIVE_PORT moves it), and on a node with authentication the
  // migrator's credentials for the test process and the CLI (tests make and drop keyspaces of their own),
  // while tools/services.ts gives each service its own role: as tools/infra.ts localCassandraEnv does.
  if (!testEnv.CASSANDRA_CONTACT_POINTS && cassandra?.contactPoints?.length)
    testEnv.CASSANDRA_CONTACT_POINTS = cassandra.contactPoints.join(',');
  if (cassandra?.auth?.required && !testEnv.CASSANDRA_USERNAME) {
    testEnv.CASSANDRA_USERNAME = 'nunchi_migrator';
    testEnv.CASSANDRA_PASSWORD_FILE = join(cassandra.auth.dir, 'nunchi_migrator');
    testEnv.CASSANDRA_AUTH_DIR = cassandra.auth.dir;
    testEnv.CASSANDRA_ROLE_PASSWORDS_DIR ??= cassandra.auth.dir;
    console.log(`Cassandra asks for credentials: tests run as nunchi_migrator, each service as its own role`);
  }
  // The local node takes TLS beside plain connections (infra.mjs cassandraTls); test/cassandra-tls.e2e.ts
  // connects to it with TLS. Unset for a node this checkout did not start: its TLS is not known here.
  if (cassandra?.tls) testEnv.NUNCHI_TEST_CASSANDRA_TLS_CA ??= cassandra.tls.caFile;
  const migrate = spawnSync(process.execPath, [join(dist, 'apps', 'cli', 'src', 'main.js'), 'migrate'], {
    env: testEnv,
    stdio: 'inherit',
  });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);
  console.log(`infra ready for tests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const files = [...unit, ...e2e];
if (!files.length) {
  console.error(`No test files${filter ? ` match "${filter}"` : ''}.`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
  { env: testEnv, stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
