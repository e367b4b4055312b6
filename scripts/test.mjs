#!/usr/bin/env node
// npm test: unit specs (pure code), then medium (*.medium.ts) and end-to-end tests (test/*.e2e.ts) against a real Cassandra, NATS and
// Zipkin, which this script starts when they are not running. Expects a build in dist/ (npm test builds first).
//   node scripts/test.mjs            everything
//   node scripts/test.mjs --unit     unit specs only (no infrastructure)
//   node scripts/test.mjs <filter>   only test files whose path contains <filter>
//   node scripts/test.mjs --cluster  the cluster tests (test/*.cluster.ts: three hosts in network namespaces,
//                                    needs root; npm run test:cluster), which npm test leaves out
//   node scripts/test.mjs --lanes N  medium and end-to-end files in N lanes at once (default 1, NUNCHI_TEST_LANES):
//                                    each lane a keyspace, a NATS server and service ports of its own, taking the
//                                    next file as it finishes one (longest first, from the last run's durations)
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
const lanesArg = args.indexOf('--lanes');
const lanesAsked = Number(lanesArg >= 0 ? args[lanesArg + 1] : (process.env.NUNCHI_TEST_LANES ?? 1));
if (!Number.isInteger(lanesAsked) || lanesAsked < 1 || lanesAsked > 4) {
  console.error(`--lanes (NUNCHI_TEST_LANES): an integer from 1 to 4, not ${lanesAsked}`);
  process.exit(2);
}
const filter = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--lanes');

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

/** the services' ports in tests: clear of `npm start`'s (each can be overridden) */
const TEST_SERVICE_PORTS = {
  NUNCHI_INGESTION_PORT: 3101,
  NUNCHI_CONTEXT_PORT: 3102,
  NUNCHI_DECISION_PORT: 3103,
  NUNCHI_ANALYTICS_PORT: 3104,
};

/** Test env: a keyspace of its own and ports that do not clash with `npm start` (each can be overridden). */
const testEnv = {
  ...process.env,
  CASSANDRA_KEYSPACE: process.env.CASSANDRA_KEYSPACE ?? 'nunchi_test',
  ...Object.fromEntries(
    Object.entries(TEST_SERVICE_PORTS).map(([name, port]) => [name, process.env[name] ?? String(port)]),
  ),
  NODE_ENV: 'test',
  // Admission control refuses events while a consumer is behind; bursts on a busy test machine would trip it
  // in tests about other things. test/overload.e2e.ts turns it on for itself.
  NUNCHI_ADMISSION_MAX_LAG_MS: process.env.NUNCHI_ADMISSION_MAX_LAG_MS ?? '0',
  // Every context start would preload the customers every earlier test made active (thousands by the end of
  // the suite), beside the test's own events. test/hot-tier-preload.e2e.ts turns it on for itself.
  NUNCHI_PRELOAD_DAYS: process.env.NUNCHI_PRELOAD_DAYS ?? '0',
};

/**
 * NATS servers of the tests' own (empty streams, no consumers left by other work on this machine), unless
 * NATS_URL is set or nats-server is not installed: one a lane, on NUNCHI_TEST_NATS_PORT (14297) and the ports
 * after it. They run with the project's NATS identities and permissions (tools/nats-auth.ts, seeds in
 * NUNCHI_NATS_AUTH_DIR or .nunchi/nats-auth), so the whole suite runs under them: the tests and the CLI act as
 * `operator`, and every service started through tools/services.ts as itself. Stopped when the tests end.
 */
const TEST_NATS_PORT = Number(process.env.NUNCHI_TEST_NATS_PORT ?? 14297);
/** lane i's services listen on the test ports + i × this (tests add up to 150 to them for extra replicas) */
const LANE_PORT_STEP = 500;

let natsBinary;
let natsAuth;
if (e2e.length) {
  // The identities exist whichever server the tests use (one without accounts ignores them).
  const { ensureNatsAuth } = await import(pathToFileURL(join(dist, 'tools', 'nats-auth.js')).href);
  natsAuth = ensureNatsAuth({ env: process.env });
  Object.assign(testEnv, {
    NUNCHI_NATS_AUTH_DIR: natsAuth.dir,
    NATS_USER: process.env.NATS_USER ?? 'operator',
    ...(process.env.NATS_USER ? {} : { NATS_NKEY_SEED_FILE: natsAuth.seedFile('operator') }),
  });
  natsBinary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  );
}
// Lanes need a NATS server each: with NATS_URL given (or no nats-server) the files run one after another.
const lanes =
  natsBinary && !process.env.NATS_URL && !clusterOnly ? Math.max(1, Math.min(lanesAsked, e2e.length)) : 1;

/** Starts the test NATS server of lane `lane`; its URL. Its log tells which identity was refused what. */
async function startOwnNats(lane) {
  const port = TEST_NATS_PORT + lane;
  const store = mkdtempSync(join(tmpdir(), 'nunchi-test-nats-'));
  const conf = natsAuth.writeServerConfig(join(store, 'nats.conf'), {
    storeDir: join(store, 'js'),
    host: '127.0.0.1',
    port,
  });
  mkdirSync(join(root, '.nunchi', 'logs'), { recursive: true });
  const natsLog = join(root, '.nunchi', 'logs', lane === 0 ? 'test-nats.log' : `test-nats-${lane + 1}.log`);
  writeFileSync(natsLog, '');
  const server = spawn(natsBinary, ['-js', '-c', conf, '-l', natsLog], { stdio: 'ignore' });
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
    server.kill('SIGKILL');
    try {
      rmSync(store, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (error) {
      console.error(`left the test NATS store ${store}: ${error.message}`);
    }
  });
  const deadline = Date.now() + 10_000;
  while (!(await portAnswers(port))) {
    if (Date.now() > deadline || server.exitCode !== null) {
      console.error(`nats-server did not start on port ${port} (NUNCHI_TEST_NATS_PORT + lane)`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return `nats://127.0.0.1:${port}`;
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

/** Each lane's environment: lane 0 the tests' own; the others a keyspace, NATS and service ports apart. */
const laneEnvs = [testEnv];
if (e2e.length) {
  const started = Date.now();
  const infra = await import(pathToFileURL(join(root, 'scripts', 'infra.mjs')).href);
  const urls =
    natsBinary && !process.env.NATS_URL ? await Promise.all([...Array(lanes).keys()].map(startOwnNats)) : [];
  if (urls.length) {
    testEnv.NATS_URL = urls[0];
    console.log(
      `tests use ${urls.length > 1 ? 'NATS servers' : 'a NATS server'} of their own at ${urls.join(', ')}, with the project's identities (${relative(root, natsAuth.dir) || natsAuth.dir})`,
    );
  }
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
  for (let lane = 1; lane < lanes; lane++)
    laneEnvs.push({
      ...testEnv,
      CASSANDRA_KEYSPACE: `${testEnv.CASSANDRA_KEYSPACE}_lane${lane + 1}`,
      NATS_URL: urls[lane],
      ...Object.fromEntries(
        Object.keys(TEST_SERVICE_PORTS).map((name) => [
          name,
          String(Number(testEnv[name]) + lane * LANE_PORT_STEP),
        ]),
      ),
    });
  const migrations = await Promise.all(
    laneEnvs.map(
      (env) =>
        new Promise((resolve) => {
          const migrate = spawn(process.execPath, [join(dist, 'apps', 'cli', 'src', 'main.js'), 'migrate'], {
            env,
            stdio: 'inherit',
          });
          migrate.on('exit', (code) => resolve(code));
        }),
    ),
  );
  const failed = migrations.find((code) => code !== 0);
  if (failed !== undefined) process.exit(failed ?? 1);
  console.log(`infra ready for tests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const files = [...unit, ...e2e];
if (!files.length) {
  console.error(`No test files${filter ? ` match "${filter}"` : ''}.`);
  process.exit(1);
}
const nodeTest = ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-concurrency=1'];
if (lanes === 1) {
  const result = spawnSync(process.execPath, [...nodeTest, ...files], {
    env: testEnv,
    stdio: 'inherit',
    cwd: root,
  });
  process.exit(result.status ?? 1);
}

/*
 * Lanes: the unit specs run first in lane 0 as one batch; every medium and end-to-end file is then a job that
 * the next free lane takes, in a `node --test` of its own, longest first (the durations of the last run, in
 * .nunchi/test-durations.json — on a fresh clone scripts/test-durations.json, a copy of one; files they do
 * not name first of all). A file's output is printed whole when it ends; the totals and the failing files
 * at the end. Two lanes take about a third off the suite on two cores (its tests wait on services and timers),
 * but double the services on them: npm test stays at one lane until no test flakes under that contention (a
 * fresh-clone run had one file time out waiting for a decision, test/ingestion-idempotency.e2e.ts).
 */
const durationsFile = join(root, '.nunchi', 'test-durations.json');
let lastDurations = {};
for (const file of [durationsFile, join(root, 'scripts', 'test-durations.json')]) {
  try {
    lastDurations = JSON.parse(readFileSync(file, 'utf8'));
    break;
  } catch {
    // not there: the next one
  }
}
const queue = e2e
  // named by their source (dist/test/cli.e2e.js: test/cli.e2e.ts)
  .map((file) => ({ file, name: relative(dist, file).replace(/\.js$/, '.ts') }))
  .sort((a, b) => (lastDurations[b.name] ?? Infinity) - (lastDurations[a.name] ?? Infinity));
if (unit.length) queue.unshift({ file: unit, name: `${unit.length} unit spec files` });

const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const failedFiles = [];
const durations = { ...lastDurations };
const runStarted = Date.now();

function runFile(job, lane) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...nodeTest, ...[job.file].flat()], {
      env: laneEnvs[lane],
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => {
      const seconds = (Date.now() - started) / 1000;
      if (!Array.isArray(job.file)) durations[job.name] = Math.round(seconds * 10) / 10;
      for (const key of Object.keys(totals)) {
        const m = new RegExp(`^ℹ ${key} (\\d+)$`, 'm').exec(output);
        if (m) totals[key] += Number(m[1]);
      }
      if (code !== 0) failedFiles.push(job.name);
      process.stdout.write(
        `\n── ${job.name} (lane ${lane + 1}, ${seconds.toFixed(1)} s${code !== 0 ? `, FAILED: exit ${code}` : ''})\n${output}`,
      );
      resolve();
    });
  });
}

await Promise.all(
  laneEnvs.map(async (_, lane) => {
    for (let job = queue.shift(); job; job = queue.shift()) await runFile(job, lane);
  }),
);
mkdirSync(dirname(durationsFile), { recursive: true });
const sorted = Object.fromEntries(Object.entries(durations).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(durationsFile, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(
  `\nall lanes (${lanes}): ${Object.entries(totals)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}; ${((Date.now() - runStarted) / 1000).toFixed(0)} s`,
);
if (failedFiles.length) {
  console.log(
    `failed files (their output is above, each after a line "── <file>"):\n  ${failedFiles.join('\n  ')}`,
  );
  process.exit(1);
}
process.exit(0); // the lanes' NATS servers would keep this process alive: stopped on exit
