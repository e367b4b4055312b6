#!/usr/bin/env node
// Three hosts on one machine (issue 13, item 3): network namespaces nunchi-h1…nunchi-h3 behind a bridge, each
// running a Cassandra node (replication factor 3) and a nats-server (a JetStream cluster: streams with three
// replicas). Traffic stays inside this machine; a host can be cut off (`partition`) and joined again (`heal`).
// Needs root (`ip netns`) and iproute2. Services and tests run in the root namespace and reach the hosts over
// the bridge.
//
//   node scripts/infra.mjs up --cluster [--only cassandra,nats]     (or: node scripts/cluster.mjs up …)
//   node scripts/infra.mjs status --cluster
//   node scripts/infra.mjs down --cluster [--wipe]
//   node scripts/cluster.mjs kill|start <h1|h2|h3> <cassandra|nats>
//   node scripts/cluster.mjs partition|heal <h1|h2|h3>
//   node scripts/cluster.mjs env           the environment that points Nunchi at the cluster
//
// State (data, logs, pid files) lives under .nunchi/cluster/<host>/. See docs/infrastructure.md.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  InfraError,
  cassandraFetched,
  cassandraJava,
  cassandraJvmArgs,
  cmdlineOf,
  cqlPing,
  fetchCassandra,
  httpGet,
  isAlive,
  natsInfo,
  natsServerBin,
  paths,
  renderCassandraYaml,
  readConfig,
  spawnDetached,
  withTimerSlack,
  tail,
  loadNatsAuth,
} from './infra.mjs';

const BRIDGE = 'nunchi-br0';
const SUBNET = '10.77.213';
const HOME = path.join(paths.state, 'cluster');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The three hosts: namespace, address, the root side of its link, its directories. */
export const HOSTS = Object.freeze(
  [1, 2, 3].map((i) => ({
    name: `h${i}`,
    netns: `nunchi-h${i}`,
    ip: `${SUBNET}.${10 + i}`,
    link: `nunchi-v${i}`,
    dir: path.join(HOME, `h${i}`),
  })),
);
const CQL_PORT = 9042;
const STORAGE_PORT = 7000;
const NATS_PORT = 4222;
const NATS_ROUTE_PORT = 6222;
const NATS_MONITOR_PORT = 8222;

/** What Nunchi's processes need to use the cluster (also written to .nunchi/cluster/env). */
export const CLUSTER_ENV = Object.freeze({
  CASSANDRA_CONTACT_POINTS: HOSTS.map((h) => `${h.ip}:${CQL_PORT}`).join(','),
  CASSANDRA_REPLICATION: "{'class': 'SimpleStrategy', 'replication_factor': 3}",
  NATS_URL: HOSTS.map((h) => `nats://${h.ip}:${NATS_PORT}`).join(','),
  NUNCHI_STREAM_REPLICAS: '3',
  // Its Cassandra nodes do not check passwords: the local node's (CASSANDRA_AUTH_DIR in development mode) are
  // not sent, and the migration does not try to create roles there.
  CASSANDRA_AUTH_DIR: 'off',
});

/** Why the cluster cannot run on this machine, or null. */
export function unavailable() {
  if (process.platform !== 'linux') return 'The cluster needs Linux network namespaces.';
  if (process.getuid?.() !== 0)
    return 'The cluster needs root (it creates network namespaces with `ip netns`).';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return `The cluster needs iproute2's \`ip netns\`: ${r.error?.message ?? r.stderr.trim()}.`;
  return null;
}

function host(name) {
  const h = HOSTS.find((x) => x.name === name || x.netns === name);
  if (!h) throw new InfraError(`No cluster host '${name}': one of ${HOSTS.map((x) => x.name).join(', ')}.`);
  return h;
}

function ip(args, { allowFail = false } = {}) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw new InfraError(`The cluster needs iproute2 (\`ip\`): ${r.error.message}.`);
  if (r.status !== 0 && !allowFail)
    throw new InfraError(
      `ip ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}${process.getuid?.() === 0 ? '' : ' (the cluster needs root)'}`,
    );
  return r;
}

const linkExists = (name, netns) =>
  ip([...(netns ? ['-n', netns] : []), 'link', 'show', name], { allowFail: true }).status === 0;
const namespaces = () =>
  ip(['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]);

/** The bridge in the root namespace and, per host, a namespace joined to it by a veth pair. Idempotent. */
function networkUp(log) {
  if (!linkExists(BRIDGE)) {
    ip(['link', 'add', BRIDGE, 'type', 'bridge']);
    ip(['addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE]);
    log(`bridge ${BRIDGE} ${SUBNET}.1/24`);
  }
  ip(['link', 'set', BRIDGE, 'up']);
  const existing = new Set(namespaces());
  for (const h of HOSTS) {
    if (!existing.has(h.netns)) ip(['netns', 'add', h.netns]);
    if (!linkExists(h.link)) {
      ip(['link', 'add', h.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
      ip(['-n', h.netns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      log(`host ${h.name}: namespace ${h.netns}, ${h.ip}`);
    }
    ip(['link', 'set', h.link, 'master', BRIDGE, 'up']);
    ip(['-n', h.netns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', h.netns, 'link', 'set', 'lo', 'up']);
  }
}

function networkDown() {
  const existing = new Set(namespaces());
  for (const h of HOSTS) if (existing.has(h.netns)) ip(['netns', 'del', h.netns]);
  if (linkExists(BRIDGE)) ip(['link', 'del', BRIDGE]);
}

/** Cuts a host off the bridge: nothing reaches it and it reaches nothing (its processes keep running). */
export function partition(name) {
  ip(['link', 'set', host(name).link, 'down']);
}

/** Joins a partitioned host again. */
export function heal(name) {
  ip(['link', 'set', host(name).link, 'up']);
}

// --- processes ----------------------------------------------------------------------------------------

const pidFile = (h, what) => path.join(h.dir, `${what}.pid`);

/** The pid of `what` on host `h` if this script started it and it still runs. */
function runningPid(h, what) {
  let pid;
  try {
    pid = Number(fs.readFileSync(pidFile(h, what), 'utf8').trim());
  } catch {
    return null;
  }
  const cmd = Number.isInteger(pid) && pid > 0 && isAlive(pid) ? cmdlineOf(pid) : null;
  return cmd?.includes(h.dir) ? pid : null;
}

function cassandraDirs(h) {
  const base = path.join(h.dir, 'cassandra');
  return { conf: path.join(base, 'conf'), data: path.join(base, 'data'), logs: path.join(base, 'logs') };
}

/** Starts host h's Cassandra node (not waiting for it). */
function launchCassandra(h, heap) {
  const dirs = cassandraDirs(h);
  const cfg = { host: h.ip, nativePort: CQL_PORT, storagePort: STORAGE_PORT, jmxPort: 7199 };
  // A new cluster: every node starts with its own tokens instead of streaming (nothing to stream), so the
  // three can start together; hints on, so a node that was down gets the writes it missed.
  renderCassandraYaml(cfg, {
    seeds: `${HOSTS[0].ip}:${STORAGE_PORT}`,
    dirs,
    settings: { auto_bootstrap: 'false', hinted_handoff_enabled: 'true', dynamic_snitch: 'true' },
  });
  const jamm = fs.readdirSync(paths.cassandra.lib).find((f) => /^jamm-.*\.jar$/.test(f));
  const java = cassandraJava();
  const args = [
    ...cassandraJvmArgs({ ...cfg, heap }, { jamm: path.join(paths.cassandra.lib, jamm), dirs }),
    '-cp',
    `${paths.cassandra.lib}${path.sep}*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  // three JVMs on the same cores: the slack matters even more than for the single node (infra.mjs)
  const launch = withTimerSlack(java.bin, args, readConfig().cassandra.timerSlackNs);
  const { pid } = spawnDetached('ip', ['netns', 'exec', h.netns, launch.bin, ...launch.args], {
    cwd: h.dir,
    env: { ...process.env, JAVA_HOME: java.home },
    logFile: path.join(dirs.logs, 'stdout.log'),
    banner: `cluster.mjs starts Cassandra on ${h.name} (${h.ip})`,
  });
  fs.writeFileSync(pidFile(h, 'cassandra'), `${pid}\n`);
  return pid;
}

/**
 * Starts host h's nats-server, routed to the other two (not waiting for it), with the project's NATS identities
 * and permissions for clients (loadNatsAuth) and a user and password of the routes' own, so nothing
 * but these servers can join the cluster.
 */
async function launchNats(h) {
  const bin = natsServerBin();
  if (!bin) throw new InfraError('nats-server is not installed: `apt-get install nats-server`.');
  const store = path.join(h.dir, 'nats');
  fs.mkdirSync(store, { recursive: true });
  const authDir = (process.env.NUNCHI_NATS_AUTH_DIR ?? '').trim() || path.join(paths.state, 'nats-auth');
  const routes = HOSTS.filter((x) => x !== h).map((x) => `${x.ip}:${NATS_ROUTE_PORT}`);
  const auth = await loadNatsAuth(authDir);
  const conf = auth.writeServerConfig(path.join(h.dir, 'nats.conf'), {
    storeDir: store,
    host: h.ip,
    port: NATS_PORT,
    serverName: h.netns,
    cluster: { name: 'nunchi', listen: `${h.ip}:${NATS_ROUTE_PORT}`, routes, ...auth.routeCredentials() },
  });
  const args = ['-js', '-c', conf, '-m', String(NATS_MONITOR_PORT)];
  const { pid } = spawnDetached('ip', ['netns', 'exec', h.netns, bin, ...args], {
    cwd: h.dir,
    env: process.env,
    logFile: path.join(h.dir, 'nats.log'),
    banner: `cluster.mjs starts nats-server on ${h.name} (${h.ip})`,
  });
  fs.writeFileSync(pidFile(h, 'nats'), `${pid}\n`);
  return pid;
}

async function waitFor(what, check, timeoutMs, logTail) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(500);
  }
  throw new InfraError(`${what} within ${timeoutMs / 1000} s; the last log lines follow.`, {
    logTail: logTail?.(),
  });
}

/**
 * nats-server's own readiness (GET /healthz): `{ok: true}` when JetStream is on and every stream and consumer
 * it holds has caught up, else `{ok: false, error}` naming the first one behind; null when nothing answers.
 */
async function natsHealth(h) {
  const r = await httpGet(`http://${h.ip}:${NATS_MONITOR_PORT}/healthz`, 1000);
  if (!r) return null;
  let error = r.body;
  try {
    error = JSON.parse(r.body).error ?? '';
  } catch {
    // not JSON: the body as it is
  }
  return { ok: r.status === 200, error };
}

/**
 * How long a restarted nats-server may have nothing but consumer replicas behind before start() goes on
 * without them, and for how many polls in a row (500 ms apart) nothing else may be behind.
 */
const LAGGING_CONSUMERS_GRACE_MS = 30_000;
const LAGGING_CONSUMERS_POLLS = 10;

const jetStreamMeta = async (h) => {
  const r = await httpGet(`http://${h.ip}:${NATS_MONITOR_PORT}/jsz`, 1000);
  try {
    const meta = r?.status === 200 ? JSON.parse(r.body).meta_cluster : null;
    return meta?.leader ? meta : null;
  } catch {
    return null;
  }
};

/** Cassandra nodes host h sees as up (itself included), from its own system tables. */
async function cassandraNodesUp(h) {
  const { default: cassandra } = await import('cassandra-driver');
  const client = new cassandra.Client({
    contactPoints: [`${h.ip}:${CQL_PORT}`],
    localDataCenter: 'datacenter1',
    policies: {
      loadBalancing: new cassandra.policies.loadBalancing.WhiteListPolicy(
        new cassandra.policies.loadBalancing.DCAwareRoundRobinPolicy('datacenter1'),
        [`${h.ip}:${CQL_PORT}`],
      ),
    },
  });
  try {
    await client.connect();
    const peers = (await client.execute('SELECT peer FROM system.peers_v2')).rowLength;
    return 1 + peers;
  } catch {
    return 0;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/** Starts what is not running on one host: `what` is 'cassandra' or 'nats'. Resolves when it answers. */
export async function start(
  name,
  what,
  { heap = process.env.CASSANDRA_CLUSTER_HEAP || '768m', timeoutMs = 240_000 } = {},
) {
  const h = host(name);
  fs.mkdirSync(h.dir, { recursive: true });
  if (what === 'nats') {
    if (!runningPid(h, 'nats')) await launchNats(h);
    await waitFor(
      `nats-server on ${h.name} did not answer`,
      async () => (await natsInfo(h.ip, NATS_PORT, 1000))?.jetstream === true,
      30_000,
      () => tail(path.join(h.dir, 'nats.log'), 15),
    );
    // Answering is not ready: its streams and consumers must have caught up with the other servers', so that
    // a fault elsewhere does not leave a stream without a quorum. But nats-server 2.9.10 can leave a consumer's
    // replica on a restarted server behind for good (its Raft directory gone: "Error writing term and vote
    // file"), seen in 1 of 6 runs of test:cluster. Its streams are what must be current; a consumer left
    // without a quorum by the next fault is replaced by the services (ConsumerRunner, "unanswered"). So after
    // the grace, polls that find nothing behind but consumers — /healthz checks each stream before its
    // consumers, in a random order — ten times in a row are enough, and the ones behind are named.
    const since = Date.now();
    let consumersOnly = 0;
    let behind = '';
    await waitFor(
      `nats-server on ${h.name} did not catch up (GET /healthz)`,
      async () => {
        const health = await natsHealth(h);
        if (health?.ok) {
          consumersOnly = 0;
          return true;
        }
        consumersOnly = /^JetStream consumer .* is not current$/.test(health?.error ?? '')
          ? consumersOnly + 1
          : 0;
        behind = health?.error ?? behind;
        return Date.now() - since > LAGGING_CONSUMERS_GRACE_MS && consumersOnly >= LAGGING_CONSUMERS_POLLS;
      },
      120_000,
      () => tail(path.join(h.dir, 'nats.log'), 15),
    );
    if (consumersOnly > 0)
      process.stderr.write(
        `cluster: nats-server on ${h.name}: its streams caught up, but not every consumer replica (${behind}); going on\n`,
      );
  } else if (what === 'cassandra') {
    if (!runningPid(h, 'cassandra')) launchCassandra(h, heap);
    await waitFor(
      `Cassandra on ${h.name} did not answer CQL`,
      () => cqlPing(h.ip, CQL_PORT, 1000),
      timeoutMs,
      () => tail(path.join(cassandraDirs(h).logs, 'system.log'), 15),
    );
  } else throw new InfraError(`Unknown cluster service '${what}': cassandra or nats.`);
}

/** Stops `what` on one host with `signal` (SIGKILL: a crash) and waits until the process is gone. */
export async function kill(name, what, signal = 'SIGKILL') {
  const h = host(name);
  const pid = runningPid(h, what);
  if (!pid) return false;
  process.kill(pid, signal);
  const deadline = Date.now() + (what === 'cassandra' ? 60_000 : 15_000);
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
  fs.rmSync(pidFile(h, what), { force: true });
  return true;
}

/**
 * Freezes (SIGSTOP) or thaws (SIGCONT) `what` on one host: the process keeps its sockets open and answers
 * nothing, as a node in a long GC pause or a stalled VM would. Kill a frozen process with kill() (SIGKILL
 * reaches it), or thaw it. False when it is not running.
 */
export function freeze(name, what, frozen = true) {
  const pid = runningPid(host(name), what);
  if (!pid) return false;
  process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  return true;
}

/**
 * The network, then the three nats-servers and Cassandra nodes (the seed first, then the other two together),
 * until the JetStream cluster has a leader and every Cassandra node sees three nodes up. Idempotent.
 */
export async function up({ only = ['cassandra', 'nats'], log = (line) => console.log(line) } = {}) {
  const problem = unavailable();
  if (problem) throw new InfraError(problem);
  const t0 = Date.now();
  networkUp((line) => log(`network   ${line}`));
  if (only.includes('nats')) {
    // All three first: a server alone cannot catch up (its streams need a quorum to elect leaders).
    for (const h of HOSTS.filter((x) => !runningPid(x, 'nats'))) await launchNats(h);
    await Promise.all(HOSTS.map((h) => start(h.name, 'nats')));
    await waitFor(
      'the JetStream cluster did not elect a leader',
      async () => Boolean(await jetStreamMeta(HOSTS[0])),
      60_000,
      () => tail(path.join(HOSTS[0].dir, 'nats.log'), 15),
    );
    log(
      `nats      three servers, JetStream leader ${(await jetStreamMeta(HOSTS[0])).leader} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  if (only.includes('cassandra')) {
    if (!cassandraFetched()) await fetchCassandra(cassandraJava(), (line) => log(`cassandra ${line}`));
    await start(HOSTS[0].name, 'cassandra');
    await Promise.all(HOSTS.slice(1).map((h) => start(h.name, 'cassandra')));
    await waitFor(
      'the Cassandra nodes did not all see each other',
      async () => (await Promise.all(HOSTS.map(cassandraNodesUp))).every((n) => n === 3),
      120_000,
    );
    log(`cassandra three nodes up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  fs.writeFileSync(
    path.join(HOME, 'env'),
    Object.entries(CLUSTER_ENV)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n') + '\n',
  );
  log(
    `env       ${path.relative(process.cwd(), path.join(HOME, 'env'))} (source it, or: eval "$(node scripts/cluster.mjs env)")`,
  );
  return status();
}

/**
 * Stops the cluster's processes (`only` those services), then removes the namespaces and the bridge once
 * nothing of the cluster runs; `wipe` also deletes the data (of `only` those services; everything once
 * nothing runs).
 */
export async function down({
  only = ['cassandra', 'nats'],
  wipe = false,
  log = (line) => console.log(line),
} = {}) {
  await Promise.all(
    HOSTS.flatMap((h) =>
      only.map(async (what) => {
        if (await kill(h.name, what, 'SIGTERM')) log(`stopped   ${what} on ${h.name}`);
      }),
    ),
  );
  if (wipe)
    for (const h of HOSTS)
      for (const what of only) fs.rmSync(path.join(h.dir, what), { recursive: true, force: true });
  if (HOSTS.some((h) => runningPid(h, 'cassandra') || runningPid(h, 'nats'))) return;
  networkDown();
  if (wipe) fs.rmSync(HOME, { recursive: true, force: true });
  log(
    `network   removed${wipe ? '; data deleted' : ` (data kept in ${path.relative(process.cwd(), HOME)}; --wipe deletes it)`}`,
  );
}

/** Per host: reachable (its link up), and each service's pid and whether it answers. */
export async function status() {
  const existing = new Set(namespaces());
  return Promise.all(
    HOSTS.map(async (h) => {
      const present = existing.has(h.netns);
      const linkUp = present && /state UP|,UP/.test(ip(['link', 'show', h.link], { allowFail: true }).stdout);
      return {
        host: h.name,
        address: h.ip,
        network: !present ? 'absent' : linkUp ? 'up' : 'partitioned',
        cassandra: {
          pid: runningPid(h, 'cassandra'),
          answers: linkUp && (await cqlPing(h.ip, CQL_PORT, 1000)),
        },
        nats: {
          pid: runningPid(h, 'nats'),
          answers: linkUp && Boolean((await natsInfo(h.ip, NATS_PORT, 1000))?.jetstream),
        },
      };
    }),
  );
}

export function printStatus(rows) {
  console.log('host  address        network      cassandra              nats');
  const cell = (s) => (s.pid ? `pid ${s.pid}${s.answers ? '' : ' (silent)'}` : 'stopped').padEnd(22);
  for (const r of rows)
    console.log(
      `${r.host.padEnd(5)} ${r.address.padEnd(14)} ${r.network.padEnd(12)} ${cell(r.cassandra)} ${cell(r.nats).trimEnd()}`,
    );
}

function usage() {
  return [
    'usage: node scripts/cluster.mjs <up|down|status|env> [--only cassandra,nats] [--wipe]',
    '       node scripts/cluster.mjs <kill|start|freeze|thaw> <h1|h2|h3> <cassandra|nats>',
    '       node scripts/cluster.mjs <partition|heal> <h1|h2|h3>',
    `Three hosts in network namespaces (${HOSTS.map((h) => `${h.name} ${h.ip}`).join(', ')}), each with a Cassandra node and a nats-server. Needs root.`,
  ].join('\n');
}

export async function main(args) {
  const [cmd, a, b] = args.filter((x) => !x.startsWith('--'));
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : undefined;
  try {
    if (cmd === 'up') printStatus(await up({ only }));
    else if (cmd === 'down') await down({ only, wipe: args.includes('--wipe') });
    else if (cmd === 'status') printStatus(await status());
    else if (cmd === 'env')
      for (const [k, v] of Object.entries(CLUSTER_ENV)) console.log(`export ${k}=${JSON.stringify(v)}`);
    else if (cmd === 'kill')
      console.log((await kill(a, b)) ? `killed ${b} on ${a}` : `${b} on ${a} was not running`);
    else if (cmd === 'start') await start(a, b);
    else if (cmd === 'freeze' || cmd === 'thaw')
      console.log(
        freeze(a, b, cmd === 'freeze')
          ? `${cmd === 'freeze' ? 'froze' : 'thawed'} ${b} on ${a}`
          : `${b} on ${a} is not running`,
      );
    else if (cmd === 'partition') partition(a);
    else if (cmd === 'heal') heal(a);
    else {
      console.error(usage());
      return 2;
    }
    return 0;
  } catch (e) {
    if (!(e instanceof InfraError)) throw e;
    console.error(`cluster: ${e.message}`);
    if (e.logTail?.length) console.error(e.logTail.map((l) => `  | ${l}`).join('\n'));
    return 1;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
