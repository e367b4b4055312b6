#!/usr/bin/env node
// Local infrastructure for Nunchi: a real Apache Cassandra 5.0 node, NATS with JetStream and a Zipkin
// trace UI, without Docker. Plain Node ESM, built-ins only, so it runs before `npm run build` — except the
// NATS server it starts, whose identities and permissions come from the build (dist/tools/nats-auth.js).
//
//   node scripts/infra.mjs up     [--only cassandra,nats,zipkin] [--json]
//   node scripts/infra.mjs down   [--only ...] [--json]
//   node scripts/infra.mjs status [--only ...] [--json]
//
// Importable too:  const infra = await import('../scripts/infra.mjs'); await infra.up();
// Everything it downloads, writes or runs lives under <repo>/.nunchi/. See docs/infrastructure.md.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------------
// Layout and constants
// ---------------------------------------------------------------------------------------------------

export const CASSANDRA_VERSION = '5.0.6';
export const ZIPKIN_VERSION = '3.5.1';
export const SERVICES = Object.freeze(['cassandra', 'nats', 'zipkin']);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STATE = path.join(ROOT, '.nunchi');
const C_AUTH = path.join(STATE, 'cassandra-auth');

export const paths = Object.freeze({
  root: ROOT,
  state: STATE,
  run: path.join(STATE, 'run'),
  cassandra: {
    home: path.join(STATE, 'cassandra'),
    lib: path.join(STATE, 'cassandra', 'lib'),
    conf: path.join(STATE, 'cassandra', 'conf'),
    data: path.join(STATE, 'cassandra', 'data'),
    logs: path.join(STATE, 'cassandra', 'logs'),
    pom: path.join(ROOT, 'scripts', 'cassandra', 'pom.xml'),
    yamlTemplate: path.join(ROOT, 'scripts', 'cassandra', 'cassandra.yaml.tmpl'),
    logback: path.join(ROOT, 'scripts', 'cassandra', 'logback.xml'),
    /** passwords of the local node's roles, one file per role (docs/security.md, "Cassandra roles") */
    auth: C_AUTH,
    /** the local node's TLS identity: node.p12, its password, and ca.crt for clients (cassandraTls) */
    tls: path.join(STATE, 'cassandra', 'tls'),
  },
  zipkin: {
    home: path.join(STATE, 'zipkin'),
    jar: path.join(STATE, 'zipkin', `zipkin-server-${ZIPKIN_VERSION}-exec.jar`),
    log: path.join(STATE, 'zipkin', 'zipkin.log'),
  },
  nats: {
    home: path.join(STATE, 'nats'),
    store: path.join(STATE, 'nats', 'jetstream'),
    log: path.join(STATE, 'nats', 'nats.log'),
    /** generated with the project's identities (loadNatsAuth); the store is named in it */
    conf: path.join(STATE, 'nats', 'nats.conf'),
  },
});

const C = paths.cassandra;
const CASSANDRA_LOG = path.join(C.logs, 'system.log');
const CASSANDRA_STDOUT = path.join(C.logs, 'stdout.log');

/** A failure worth one sentence to a person (no stack trace). `logTail` holds the last log lines. */
export class InfraError extends Error {
  constructor(message, { service, logTail, logFile } = {}) {
    super(message);
    this.name = 'InfraError';
    this.service = service;
    this.logTail = logTail;
    this.logFile = logFile;
  }
}

// ---------------------------------------------------------------------------------------------------
// Configuration from the environment
// ---------------------------------------------------------------------------------------------------

/** libs/config DEFAULT_NATS_URL: the server infra:up starts with the project's NATS identities. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:14222';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0', '']);
const isLocalHost = (h) => LOCAL_HOSTS.has(String(h).toLowerCase());
const loopback = (h) =>
  h === 'localhost' || h === '0.0.0.0' || h === '' ? '127.0.0.1' : h.replace(/^\[|\]$/g, '');

function intEnv(env, name, dflt, { min = 0, max = 65535 } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InfraError(`${name} must be a whole number between ${min} and ${max}, not '${raw}'.`);
  }
  return n;
}

function heapEnv(env, name, dflt) {
  const raw = (env[name] ?? '').trim() || dflt;
  if (!/^\d+[mMgG]$/.test(raw)) throw new InfraError(`${name} must look like 1g or 768m, not '${raw}'.`);
  return raw.toLowerCase();
}

function parseContactPoints(raw, dfltPort) {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s);
      if (!m) throw new InfraError(`CASSANDRA_CONTACT_POINTS has an entry I cannot read: '${s}'.`);
      // a bare IPv6 address has several colons and no port
      if (s.split(':').length > 2 && !s.startsWith('[')) return { host: s, port: dfltPort };
      return { host: m[1], port: m[2] ? Number(m[2]) : dfltPort };
    });
}

export function readConfig(env = process.env) {
  const nativePort = intEnv(env, 'CASSANDRA_NATIVE_PORT', 9042, { min: 1 });
  const contactRaw = (env.CASSANDRA_CONTACT_POINTS ?? '').trim();

  // The project's own NATS, with its identities (NUNCHI_NATS_AUTH_DIR), is on 14222: a machine's own NATS
  // (Debian's on 4222, say) knows nothing of them and is left alone. NATS_URL picks another server.
  const natsUrl = (env.NATS_URL ?? '').trim() || DEFAULT_NATS_URL;
  const firstNats = natsUrl.split(',')[0].trim();
  let natsParsed;
  try {
    natsParsed = new URL(/^[a-z]+:\/\//i.test(firstNats) ? firstNats : `nats://${firstNats}`);
  } catch {
    throw new InfraError(`NATS_URL is not a URL I can read: '${natsUrl}'.`);
  }

  const tracesRaw = (env.NUNCHI_TRACES ?? '').trim().toLowerCase();
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const zipkinEndpoint =
    (env.OTEL_EXPORTER_ZIPKIN_ENDPOINT ?? '').trim() || 'http://127.0.0.1:9411/api/v2/spans';
  let zipkinUrl;
  try {
    zipkinUrl = new URL(zipkinEndpoint);
  } catch {
    throw new InfraError(`OTEL_EXPORTER_ZIPKIN_ENDPOINT is not a URL: '${zipkinEndpoint}'.`);
  }

  return {
    cassandra: {
      external: contactRaw ? parseContactPoints(contactRaw, nativePort) : null,
      host: '127.0.0.1',
      nativePort,
      storagePort: intEnv(env, 'CASSANDRA_STORAGE_PORT', 7000, { min: 1 }),
      jmxPort: intEnv(env, 'CASSANDRA_JMX_PORT', 7199),
      heap: heapEnv(env, 'CASSANDRA_HEAP', '1g'),
      // Nanoseconds of timer slack for the node's threads (withTimerSlack); 0: the kernel's default (50 µs).
      timerSlackNs: intEnv(env, 'CASSANDRA_TIMER_SLACK_NS', 1_000_000, { min: 0, max: 100_000_000 }),
      localDataCenter: (env.CASSANDRA_LOCAL_DC ?? '').trim() || 'datacenter1',
      timeoutMs: intEnv(env, 'CASSANDRA_START_TIMEOUT', 180, { min: 1, max: 3600 }) * 1000,
      // The node this script starts checks passwords and permissions unless CASSANDRA_AUTH=off.
      auth: !['off', 'false', '0', 'no'].includes((env.CASSANDRA_AUTH ?? '').trim().toLowerCase()),
      // Where the role passwords of a node with authentication are: this checkout's own by default; another
      // checkout's when it uses a node that checkout started (CASSANDRA_AUTH_DIR=<that checkout>/.nunchi/cassandra-auth).
      authDir: (env.CASSANDRA_AUTH_DIR ?? '').trim() ? path.resolve(env.CASSANDRA_AUTH_DIR.trim()) : C_AUTH,
    },
    nats: {
      url: natsUrl,
      host: loopback(natsParsed.hostname),
      port: natsParsed.port ? Number(natsParsed.port) : 4222,
      local: isLocalHost(natsParsed.hostname),
      authDir: (env.NUNCHI_NATS_AUTH_DIR ?? '').trim() || path.join(STATE, 'nats-auth'),
      timeoutMs: 20_000,
    },
    zipkin: {
      // NUNCHI_TRACES=off, or an OpenTelemetry exporter other than Zipkin: no local Zipkin needed.
      disabled: ['off', 'false', '0', 'no', 'none'].includes(tracesRaw)
        ? 'NUNCHI_TRACES=off'
        : exporter && exporter !== 'zipkin'
          ? `OTEL_TRACES_EXPORTER=${exporter}`
          : null,
      endpoint: zipkinEndpoint,
      local: isLocalHost(zipkinUrl.hostname),
      host: loopback(zipkinUrl.hostname),
      port: zipkinUrl.port ? Number(zipkinUrl.port) : zipkinUrl.protocol === 'https:' ? 443 : 80,
      origin: zipkinUrl.origin,
      heap: heapEnv(env, 'ZIPKIN_HEAP', '512m'),
      maxSpans: intEnv(env, 'ZIPKIN_MAX_SPANS', 200_000, { min: 1000, max: 100_000_000 }),
      timeoutMs: intEnv(env, 'ZIPKIN_START_TIMEOUT', 90, { min: 1, max: 3600 }) * 1000,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Small helpers: probes, processes, files
// ---------------------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const rel = (p) => path.relative(process.cwd(), p) || '.';

function mkdirp(...dirs) {
  for (const d of dirs) fs.mkdirSync(d, { recursive: true });
}

/** Resolves to true when something accepts a TCP connection on host:port. */
export function tcpProbe(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** True when nothing is bound to host:port (we can bind it ourselves for a moment). */
async function portFree(host, port, { retryMs = 2000 } = {}) {
  // A port can stay busy for a moment while a process that just stopped closes its sockets.
  const deadline = Date.now() + retryMs;
  for (;;) {
    if (await canBind(host, port)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(250);
  }
}

function canBind(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Sends one CQL frame (protocol v4) and resolves with the header of the answer (9 bytes), or null when nothing
 * answers CQL in time.
 */
function cqlExchange(host, port, frame, timeoutMs) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (header) => {
      sock.destroy();
      resolve(header);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.once('error', () => done(null));
    sock.once('connect', () => sock.write(frame));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 9) done(buf.subarray(0, 9));
    });
  });
}

/**
 * Sends a CQL OPTIONS frame and expects SUPPORTED back: proves the native port speaks CQL, not merely that it
 * accepts TCP.
 */
export async function cqlPing(host, port, timeoutMs = 2000) {
  const options = Buffer.from([0x04, 0x00, 0x00, 0x00, 0x05, 0, 0, 0, 0]);
  const header = await cqlExchange(host, port, options, timeoutMs);
  return header !== null && (header[0] & 0x80) === 0x80 && header[4] === 0x06;
}

/**
 * Whether the node at host:port completes a TLS handshake verified against `caFile` on its native port (the
 * local node takes TLS beside plain connections: cassandraTls). Null when nothing answers.
 */
export function cqlTakesTls(host, port, caFile, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = tls.connect({ host, port, ca: [fs.readFileSync(caFile)] });
    const done = (v) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('secureConnect', () => done(sock.authorized));
    sock.once('error', (e) => done(e.code === 'ECONNREFUSED' ? null : false));
  });
}

/**
 * Whether the node at host:port asks for credentials: the answer to a CQL STARTUP is AUTHENTICATE (0x03) on a
 * node with PasswordAuthenticator, READY (0x02) on one without. Null when nothing answers CQL.
 */
export async function cqlAuthRequired(host, port, timeoutMs = 2000) {
  const pair = (k, v) => {
    const b = Buffer.alloc(4 + k.length + v.length);
    b.writeUInt16BE(k.length, 0);
    b.write(k, 2);
    b.writeUInt16BE(v.length, 2 + k.length);
    b.write(v, 4 + k.length);
    return b;
  };
  const body = Buffer.concat([Buffer.from([0, 1]), pair('CQL_VERSION', '3.0.0')]);
  const head = Buffer.from([0x04, 0x00, 0x00, 0x01, 0x01, 0, 0, 0, 0]);
  head.writeUInt32BE(body.length, 5);
  const header = await cqlExchange(host, port, Buffer.concat([head, body]), timeoutMs);
  return header?.[4] === 0x03 ? true : header?.[4] === 0x02 ? false : null;
}

/** Connects to a NATS server and reads the INFO line it sends first. Null when nothing answers. */
export function natsInfo(host, port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let text = '';
    const done = (v) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(text ? { raw: text } : null));
    sock.once('error', () => done(null));
    sock.on('data', (d) => {
      text += d.toString('utf8');
      const nl = text.indexOf('\r\n');
      if (nl < 0 && text.length < 64 * 1024) return;
      const line = nl < 0 ? text : text.slice(0, nl);
      if (!line.startsWith('INFO ')) return done({ raw: line });
      try {
        done(JSON.parse(line.slice(5)));
      } catch {
        done({ raw: line });
      }
    });
  });
}

/** GET a URL; resolves {status, body} or null on a connection error/timeout. */
export function httpGet(url, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        if (body.length < 64 * 1024) body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

export function cmdlineOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'X') return false;
    if (state !== 'Z') return true;
    // A zombie leader whose other threads are still tearing down (closing sockets) is not gone yet.
    try {
      return fs.readdirSync(`/proc/${pid}/task`).length > 1;
    } catch {
      return false;
    }
  } catch {
    return process.platform !== 'linux'; // no /proc: trust kill(0)
  }
}

/** Who listens on a TCP port, via `ss` (best effort): {pid, name} or null. */
function listenerOf(port) {
  const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return null;
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(r.stdout);
  if (m) return { name: m[1], pid: Number(m[2]) };
  return r.stdout.trim() ? { name: 'unknown process', pid: null } : null;
}

function describeListener(port) {
  const l = listenerOf(port);
  if (!l || !l.pid) return 'another process';
  const cmd = cmdlineOf(l.pid) ?? '';
  let cwd = null;
  try {
    cwd = fs.readlinkSync(`/proc/${l.pid}/cwd`);
  } catch {
    /* not visible */
  }
  let what = cmd.length > 100 ? `${cmd.slice(0, 97)}...` : cmd;
  if (cmd.includes('CassandraDaemon')) what = 'a Cassandra node';
  else if (/zipkin-server/.test(cmd)) what = 'a Zipkin server';
  else if (/\bjava\b/.test(l.name))
    what =
      cmd
        .split(' ')
        .filter((t) => !t.startsWith('-'))
        .slice(-1)[0] ?? cmd;
  return `${l.name} (pid ${l.pid}${what ? `: ${what}` : ''}${cwd ? `, working directory ${cwd}` : ''})`;
}

/** The last `lines` non-empty lines of a file (from byte `from` on), each cut to 400 characters. */
export function tail(file, lines = 25, from = 0) {
  try {
    const st = fs.statSync(file);
    const start = Math.max(from <= st.size ? from : 0, st.size - 64 * 1024);
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(st.size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    fs.closeSync(fd);
    return buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .slice(-lines)
      .map((l) => (l.length > 400 ? `${l.slice(0, 397)}...` : l));
  } catch {
    return [];
  }
}

const fileSize = (f) => {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
};

function which(cmd, extra = []) {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), ...extra]) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

// --- pid files ---------------------------------------------------------------------------------------

const pidFile = (svc) => path.join(paths.run, `${svc}.pid`);
const metaFile = (svc) => path.join(paths.run, `${svc}.json`);

/** What identifies a process as the one this script started for `svc` (guards against pid reuse). */
const MARKERS = {
  cassandra: () => [C.home, 'CassandraDaemon'],
  zipkin: () => [paths.zipkin.jar],
  nats: () => [paths.nats.conf],
};

/** The pid of the service this script started, if it is still alive; removes stale pid files. */
function ownedPid(svc) {
  let pid;
  try {
    pid = Number(fs.readFileSync(pidFile(svc), 'utf8').trim());
  } catch {
    return null;
  }
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    const cmd = cmdlineOf(pid);
    if (cmd === null || MARKERS[svc]().every((m) => cmd.includes(m))) return pid;
  }
  fs.rmSync(pidFile(svc), { force: true });
  return null;
}

function writeRunState(svc, pid, meta) {
  mkdirp(paths.run);
  fs.writeFileSync(pidFile(svc), `${pid}\n`);
  fs.writeFileSync(metaFile(svc), `${JSON.stringify({ pid, ...meta }, null, 2)}\n`);
}

function readMeta(svc) {
  try {
    return JSON.parse(fs.readFileSync(metaFile(svc), 'utf8'));
  } catch {
    return null;
  }
}

function updateMeta(svc, patch) {
  const m = readMeta(svc);
  if (m) fs.writeFileSync(metaFile(svc), `${JSON.stringify({ ...m, ...patch }, null, 2)}\n`);
}

/** Spawns a long-lived process that survives this script: own session, output appended to a log file. */
export function spawnDetached(bin, args, { cwd, env, logFile, banner }) {
  mkdirp(path.dirname(logFile));
  const logOffset = fileSize(logFile);
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n=== ${new Date().toISOString()} ${banner} ===\n`);
  const child = spawn(bin, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const state = { exited: null, logOffset };
  child.on('exit', (code, signal) => (state.exited = { code, signal }));
  child.on('error', (error) => (state.exited = { error }));
  child.unref();
  return { pid: child.pid, state };
}

// --- Java and Maven ---------------------------------------------------------------------------------

function javaMajor(bin) {
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return null;
  const m = /version "([^"]+)"/.exec(`${r.stderr}${r.stdout}`);
  if (!m) return null;
  const parts = m[1].split(/[.+-]/);
  return Number(parts[0] === '1' ? parts[1] : parts[0]) || null;
}

const javaCache = new Map();

/**
 * Picks a Java: JAVA_HOME, then `java` on PATH, then /usr/lib/jvm/* — the first whose major version
 * `accept`s, preferring `prefer` among the /usr/lib/jvm ones. Returns {bin, home, major} or throws.
 */
function findJava({ accept, prefer, purpose, need }) {
  const key = `${purpose}`;
  if (javaCache.has(key)) return javaCache.get(key);
  const candidates = [];
  if (process.env.JAVA_HOME) candidates.push(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  const onPath = which('java');
  if (onPath) candidates.push(onPath);
  let jvms = [];
  try {
    jvms = fs.readdirSync('/usr/lib/jvm').map((d) => path.join('/usr/lib/jvm', d, 'bin', 'java'));
  } catch {
    /* none */
  }
  jvms.sort((a, b) => Number(b.includes(String(prefer))) - Number(a.includes(String(prefer))));
  candidates.push(...jvms);

  const seen = new Map();
  for (const c of candidates) {
    let real;
    try {
      real = fs.realpathSync(c);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    const major = javaMajor(real);
    seen.set(real, major);
    if (major && accept(major)) {
      const found = { bin: real, home: path.dirname(path.dirname(real)), major, isDefault: c === onPath };
      javaCache.set(key, found);
      return found;
    }
  }
  const versions = [...new Set([...seen.values()].filter(Boolean))];
  if (versions.length === 0) {
    throw new InfraError(
      `No Java found for ${purpose}: install a JDK ${need} (e.g. \`apt-get install openjdk-17-jdk-headless\`) or set JAVA_HOME.`,
    );
  }
  throw new InfraError(
    `${purpose} needs Java ${need} but only Java ${versions.join(', ')} is installed: install openjdk-17-jdk-headless or point JAVA_HOME at a JDK ${need}.`,
  );
}

export const cassandraJava = () =>
  findJava({ accept: (v) => v === 11 || v === 17, prefer: 17, purpose: 'Cassandra 5.0', need: '11 or 17' });
const zipkinJava = () =>
  findJava({ accept: (v) => v >= 17, prefer: 17, purpose: `Zipkin ${ZIPKIN_VERSION}`, need: '17 or newer' });

function requireMvn(what) {
  const mvn = which('mvn');
  if (!mvn) {
    throw new InfraError(
      `Maven (mvn) is needed once to fetch ${what} from Maven Central and is not installed: \`apt-get install maven\`.`,
    );
  }
  return mvn;
}

let mvnChain = Promise.resolve();

/** Runs Maven (one at a time: they share ~/.m2), output to a log file; throws a one-sentence error. */
function runMvn(args, { cwd, logFile, java, what, service }) {
  const mvn = requireMvn(what);
  const run = () =>
    new Promise((resolve, reject) => {
      mkdirp(path.dirname(logFile));
      const fd = fs.openSync(logFile, 'w');
      const child = spawn(mvn, ['-B', '-q', '-Dstyle.color=never', ...args], {
        cwd,
        env: { ...process.env, JAVA_HOME: java.home },
        stdio: ['ignore', fd, fd],
      });
      fs.closeSync(fd);
      child.on('error', (e) =>
        reject(new InfraError(`Could not run Maven to fetch ${what}: ${e.message}.`, { service })),
      );
      child.on('exit', (code) => {
        if (code === 0) return resolve();
        reject(
          new InfraError(
            `Maven could not fetch ${what} (exit ${code}); is Maven Central reachable? Details: ${rel(logFile)}.`,
            {
              service,
              logTail: tail(logFile, 15),
              logFile,
            },
          ),
        );
      });
    });
  const p = mvnChain.then(run, run);
  mvnChain = p.catch(() => {});
  return p;
}

// --- a lock so that two `up`s (say the demo and the test runner) do not race --------------------------

let inProcessChain = Promise.resolve();

async function withLock(fn, { waitMs = 15 * 60_000 } = {}) {
  const run = async () => {
    mkdirp(paths.run);
    const lock = path.join(paths.run, 'infra.lock');
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch (e) {
        if (e.code !== 'EEXIST') throw e;
        const holder = Number(fs.readFileSync(lock, 'utf8').trim());
        if (!holder || holder === process.pid || !isAlive(holder)) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new InfraError(
            `Another infra.mjs (pid ${holder}) has held ${rel(lock)} for too long; is it stuck?`,
          );
        }
        await sleep(300);
      }
    }
    try {
      return await fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  };
  const p = inProcessChain.then(run, run);
  inProcessChain = p.catch(() => {});
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Cassandra
// ---------------------------------------------------------------------------------------------------

const CASSANDRA_MARKER = path.join(C.lib, '.fetched');

export function cassandraFetched() {
  try {
    return (
      fs.readFileSync(CASSANDRA_MARKER, 'utf8').trim() === CASSANDRA_VERSION &&
      fs.existsSync(path.join(C.lib, `cassandra-all-${CASSANDRA_VERSION}.jar`))
    );
  } catch {
    return false;
  }
}

const JPMS_EXPORTS = [
  'java.base/jdk.internal.misc',
  'java.management.rmi/com.sun.jmx.remote.internal.rmi',
  'java.management/com.sun.jmx.remote.security',
  'java.rmi/sun.rmi.registry',
  'java.rmi/sun.rmi.server',
  'java.sql/java.sql',
  'java.base/java.lang.ref',
  'jdk.unsupported/sun.misc',
  'jdk.attach/sun.tools.attach',
  'jdk.compiler/com.sun.tools.javac.file',
];
const JPMS_OPENS = [
  'java.base/java.lang.module',
  'java.base/jdk.internal.loader',
  'java.base/jdk.internal.ref',
  'java.base/jdk.internal.reflect',
  'java.base/jdk.internal.math',
  'java.base/jdk.internal.module',
  'java.base/jdk.internal.util.jar',
  'jdk.management/com.sun.management.internal',
  'java.base/sun.nio.ch',
  'java.base/java.io',
  'java.base/java.lang.reflect',
  'java.base/java.lang',
  'java.base/java.util',
  'java.base/java.nio',
  'jdk.compiler/com.sun.tools.javac',
];
/** Module access Cassandra (server and tools) needs on Java 11/17, all to ALL-UNNAMED. */
const jpmsArgs = () => [
  ...JPMS_EXPORTS.flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
  ...JPMS_OPENS.flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
];

/**
 * The command that starts `bin args` with `slackNs` of timer slack (Linux /proc/<pid>/timerslack_ns: kept across
 * exec, inherited by every thread). Why, for Cassandra on a small machine: its shared executor pools' idle
 * workers wait for work in parkNanos naps of 10 µs and more, so while requests keep arriving (a few hundred a
 * second) the node burns half a core waking up — measured with `node dist/bench/cassandra-pacing.js`: at
 * 700 requests/s, 61 % of a core with the default 50 µs of slack, 21 % with 1 ms, for ~0.6 ms more latency
 * at p50 and the same p99 (docs/infrastructure.md, "Cassandra's timer slack").
 */
export function withTimerSlack(bin, args, slackNs) {
  if (!slackNs || process.platform !== 'linux') return { bin, args };
  return {
    bin: '/bin/sh',
    args: ['-c', `echo ${slackNs} > /proc/self/timerslack_ns 2>/dev/null; exec "$0" "$@"`, bin, ...args],
  };
}

/** `dirs` (conf, data, logs): the single node's by default; a cluster node (scripts/cluster.mjs) has its own. */
export function cassandraJvmArgs(cfg, { jamm, dirs = C }) {
  const args = [
    // heap
    `-Xms${cfg.heap}`,
    `-Xmx${cfg.heap}`,
    // GC and misc, from conf/jvm17-server.options and conf/jvm-server.options (5.0 branch)
    '-XX:+UseG1GC',
    '-XX:+ParallelRefProcEnabled',
    '-XX:MaxTenuringThreshold=1',
    '-XX:G1HeapRegionSize=16m',
    '-XX:G1RSetUpdatingPauseTimePercent=5',
    '-XX:MaxGCPauseMillis=300',
    '-XX:InitiatingHeapOccupancyPercent=70',
    '-Xss256k',
    '-XX:+UseTLAB',
    '-XX:+ResizeTLAB',
    '-XX:+PerfDisableSharedMem',
    '-XX:+ExitOnOutOfMemoryError',
    `-XX:ErrorFile=${path.join(dirs.logs, 'hs_err_pid%p.log')}`,
    '-Djava.net.preferIPv4Stack=true',
    '-Dchronicle.analytics.disable=true',
    '-Djdk.attach.allowAttachSelf=true',
    `-javaagent:${jamm}`,
    // JPMS access Cassandra needs on Java 11/17
    ...jpmsArgs(),
    // Netty
    '-Dio.netty.tryReflectionSetAccessible=true',
    '-Dio.netty.allocator.useCacheForAllThreads=true',
    '-Dio.netty.allocator.maxOrder=11',
    // Cassandra
    '-Dcassandra-foreground=yes',
    `-Dcassandra.config=${pathToFileURL(path.join(dirs.conf, 'cassandra.yaml')).href}`,
    `-Dcassandra.storagedir=${dirs.data}`,
    `-Dcassandra.logdir=${dirs.logs}`,
    `-Dlogback.configurationFile=${C.logback}`,
    // dev-node start-up shortcuts: one node, nobody to gossip with
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.ring_delay_ms=1000',
    // with authentication on, the built-in superuser exists at once (not 10 s later), for ensureCassandraRoles
    '-Dcassandra.superuser_setup_delay_ms=0',
    // throwaway dev data: never fsync (a machine crash may lose the last seconds of writes)
    '-Dcassandra.skip_sync=true',
  ];
  if (cfg.jmxPort > 0) {
    // local-only JMX so that `nodetool` works (see docs/infrastructure.md)
    args.push(`-Dcassandra.jmx.local.port=${cfg.jmxPort}`, '-Djava.rmi.server.hostname=127.0.0.1');
  }
  return args;
}

/**
 * `seeds` ("host:port,…"; this node alone by default), `dirs` as in cassandraJvmArgs, and `settings` that
 * replace the template's top-level line of that key (or are added).
 */
export function renderCassandraYaml(
  cfg,
  { seeds = `${cfg.host}:${cfg.storagePort}`, dirs = C, settings = {} } = {},
) {
  const values = {
    LISTEN_ADDRESS: cfg.host,
    RPC_ADDRESS: cfg.host,
    STORAGE_PORT: String(cfg.storagePort),
    NATIVE_PORT: String(cfg.nativePort),
    DATA_DIR: dirs.data,
    SEEDS: seeds,
  };
  const rendered = fs.readFileSync(C.yamlTemplate, 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (whole, k) => {
    if (!(k in values))
      throw new InfraError(`scripts/cassandra/cassandra.yaml.tmpl uses an unknown placeholder ${whole}.`);
    return values[k];
  });
  let text = rendered;
  for (const [key, value] of Object.entries(settings)) {
    const line = new RegExp(`^${key}:.*$`, 'm');
    text = line.test(text) ? text.replace(line, `${key}: ${value}`) : `${text}\n${key}: ${value}\n`;
  }
  mkdirp(dirs.conf);
  const out = path.join(dirs.conf, 'cassandra.yaml');
  fs.writeFileSync(
    out,
    `# GENERATED by scripts/infra.mjs from scripts/cassandra/cassandra.yaml.tmpl — edit the template.\n${text}`,
  );
  return out;
}

async function cassandraPortClash(cfg) {
  const ports = [
    [cfg.nativePort, 'native (CQL) port'],
    [cfg.storagePort, 'storage port'],
  ];
  if (cfg.jmxPort > 0) ports.push([cfg.jmxPort, 'JMX port']);
  for (const [port, what] of ports) {
    if (!(await portFree(cfg.host, port))) {
      const hint =
        port === cfg.nativePort && (await cqlPing(cfg.host, port))
          ? ` — if that Cassandra is one you want to use, set CASSANDRA_CONTACT_POINTS=${cfg.host}:${port}`
          : '';
      return `Cassandra's ${what} ${cfg.host}:${port} is already taken by ${describeListener(port)}${hint}.`;
    }
  }
  return null;
}

/** Watches system.log (from `offset`) for "Startup complete" and the native port for CQL. */
async function waitCassandraReady(cfg, { pid, state, offset = 0, outOffset = 0, timeoutMs, requireLogLine }) {
  const deadline = Date.now() + timeoutMs;
  let pos = offset;
  let seen = !requireLogLine;
  let carry = '';
  while (Date.now() < deadline) {
    if ((state && state.exited) || !isAlive(pid)) {
      const how = state?.exited?.error
        ? `could not be started (${state.exited.error.message})`
        : `exited during start-up${state?.exited?.code != null ? ` with code ${state.exited.code}` : ''}`;
      throw new InfraError(
        `Cassandra ${how}; the last log lines follow (${rel(CASSANDRA_STDOUT)}, ${rel(CASSANDRA_LOG)}).`,
        {
          service: 'cassandra',
          logTail: [...tail(CASSANDRA_STDOUT, 15, outOffset), ...tail(CASSANDRA_LOG, 10, offset)],
          logFile: CASSANDRA_LOG,
        },
      );
    }
    if (!seen) {
      try {
        const size = fs.statSync(CASSANDRA_LOG).size;
        if (size < pos) pos = 0; // rolled over
        if (size > pos) {
          const fd = fs.openSync(CASSANDRA_LOG, 'r');
          const buf = Buffer.alloc(size - pos);
          fs.readSync(fd, buf, 0, buf.length, pos);
          fs.closeSync(fd);
          pos = size;
          const text = carry + buf.toString('utf8');
          if (text.includes('Startup complete')) seen = true;
          carry = text.slice(-64);
        }
      } catch {
        /* log not there yet */
      }
    }
    if (seen && (await cqlPing(cfg.host, cfg.nativePort, 1000))) return;
    await sleep(250);
  }
  throw new InfraError(
    `Cassandra did not become ready within ${secs(timeoutMs)} (still running as pid ${pid}; \`npm run infra:down\` stops it, CASSANDRA_START_TIMEOUT allows longer); the last log lines follow.`,
    {
      service: 'cassandra',
      logTail: [...tail(CASSANDRA_STDOUT, 10, outOffset), ...tail(CASSANDRA_LOG, 15, offset)],
      logFile: CASSANDRA_LOG,
    },
  );
}

/** Fetches Cassandra's jars from Maven Central into .nunchi/cassandra/lib (once). Resolves to the time it took. */
export async function fetchCassandra(java, log) {
  const t0 = Date.now();
  log(`fetching Cassandra ${CASSANDRA_VERSION} and its dependencies from Maven Central into ${rel(C.lib)}`);
  fs.rmSync(C.lib, { recursive: true, force: true });
  mkdirp(C.lib);
  await runMvn(
    [
      '-f',
      C.pom,
      `-Dcassandra.version=${CASSANDRA_VERSION}`,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${C.lib}`,
    ],
    {
      cwd: C.home,
      logFile: path.join(C.home, 'maven.log'),
      java,
      what: `Cassandra ${CASSANDRA_VERSION}`,
      service: 'cassandra',
    },
  );
  if (!fs.existsSync(path.join(C.lib, `cassandra-all-${CASSANDRA_VERSION}.jar`))) {
    throw new InfraError(
      `Maven finished but ${rel(C.lib)} has no cassandra-all-${CASSANDRA_VERSION}.jar; see ${rel(path.join(C.home, 'maven.log'))}.`,
      {
        service: 'cassandra',
      },
    );
  }
  fs.writeFileSync(CASSANDRA_MARKER, `${CASSANDRA_VERSION}\n`);
  const fetchMs = Date.now() - t0;
  log(`fetched ${fs.readdirSync(C.lib).filter((f) => f.endsWith('.jar')).length} jars in ${secs(fetchMs)}`);
  return fetchMs;
}

// --- TLS of the local node ------------------------------------------------------------------------

/**
 * The local node's TLS identity, made once (keytool, beside the node's Java): a self-signed certificate for
 * its address, 127.0.0.1 and localhost in `.nunchi/cassandra/tls/node.p12`, the store's password beside it,
 * and the certificate as `ca.crt` for clients (CASSANDRA_TLS_CA_FILE). The node takes TLS *beside* plain
 * connections on its native port (`optional: true`): the services use plain TCP here (TLS would add its CPU
 * to every request on two shared cores), and the suite checks a TLS client against the real node
 * (test/cassandra-tls.e2e.ts). Returns the `client_encryption_options` YAML, or null (and says why) when
 * keytool fails: the node then starts without TLS.
 */
function cassandraTls(java, cfg, log) {
  const dir = C.tls;
  const keystore = path.join(dir, 'node.p12');
  const passwordFile = path.join(dir, 'store-password');
  const ca = path.join(dir, 'ca.crt');
  if (![keystore, passwordFile, ca].every((f) => fs.existsSync(f))) {
    mkdirp(dir);
    fs.rmSync(keystore, { force: true });
    fs.writeFileSync(passwordFile, newPassword(), { mode: 0o600 });
    const keytool = path.join(java.home, 'bin', 'keytool');
    const store = ['-keystore', keystore, '-storetype', 'PKCS12', `-storepass:file`, passwordFile];
    const sans = [...new Set([`ip:${loopback(cfg.host)}`, 'ip:127.0.0.1', 'dns:localhost'])];
    const steps = [
      [
        ...['-genkeypair', '-alias', 'node', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650'],
        ...['-dname', 'CN=Nunchi local Cassandra', '-ext', `SAN=${sans.join(',')}`],
        ...['-keypass:file', passwordFile],
      ],
      ['-exportcert', '-rfc', '-alias', 'node', '-file', ca],
    ];
    for (const args of steps) {
      const r = spawnSync(keytool, [...args, ...store], { encoding: 'utf8' });
      if (r.status !== 0) {
        log(
          `could not make the node's TLS certificate (${keytool} ${args[0]}: ${(r.stderr || r.stdout || String(r.error)).trim()}); it starts without TLS`,
        );
        fs.rmSync(dir, { recursive: true, force: true });
        return null;
      }
    }
    log(`made the node's TLS certificate; clients verify it with CASSANDRA_TLS_CA_FILE=${rel(ca)}`);
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  return {
    ca,
    yaml: `{enabled: true, optional: true, keystore: "${keystore}", keystore_password: "${password}", store_type: PKCS12}`,
  };
}

/**
 * The TLS of a node this checkout started earlier: `{caFile, taken}`, or null without a certificate. A node
 * started before infra.mjs made it take TLS goes on without it; the restart that turns it on is the operator's
 * call, as for authentication.
 */
async function runningNodeTls(cfg, log) {
  const caFile = path.join(C.tls, 'ca.crt');
  if (!fs.existsSync(caFile)) return null;
  const taken = (await cqlTakesTls(cfg.host, cfg.nativePort, caFile, 5000)) === true;
  if (!taken)
    log(
      'this node takes no TLS connections (it was started before infra.mjs made it take them beside plain ones); ' +
        'to turn them on: `npm run infra:down -- --only cassandra && npm run infra:up` (a restart; the data stays)',
    );
  return { caFile, taken };
}

// --- Authentication of the local node --------------------------------------------------------------

/** cassandra.yaml lines of a node that checks passwords and permissions (CASSANDRA_AUTH, on by default). */
const AUTH_SETTINGS = Object.freeze({
  authenticator: 'PasswordAuthenticator',
  authorizer: 'CassandraAuthorizer',
});

/** The superuser this script makes in place of the built-in cassandra/cassandra, which it then disables. */
const ADMIN_ROLE = 'nunchi_admin';
/**
 * The roles whose passwords this script generates: the migrator, which it creates (with the right to create
 * keyspaces and roles), and the service roles, which the migration creates and grants (libs/config
 * CASSANDRA_SERVICE_ROLES; libs/cassandra/src/roles.spec.ts checks the two lists agree).
 */
export const CASSANDRA_ROLE_NAMES = Object.freeze([
  'nunchi_migrator',
  'nunchi_ingestion',
  'nunchi_context',
  'nunchi_decision',
  'nunchi_analytics',
  'nunchi_operator',
]);

const newPassword = () => crypto.randomBytes(24).toString('base64url');

/**
 * What a node needs of the processes that use it: `{required: false}` on a node without authentication, or
 * `{required: true, dir}` where `dir` holds a password file per role (named after the role). On a node this
 * checkout runs, makes the roles first (ensureCassandraRoles). A managed node still running without
 * authentication although CASSANDRA_AUTH wants it keeps running as it is: restarting it is the operator's call.
 */
async function cassandraAuth(cfg, log, { managed }) {
  const required = await cqlAuthRequired(cfg.host, cfg.nativePort, 5000);
  if (!required) {
    if (managed && cfg.auth)
      log(
        'this node runs WITHOUT authentication (it was started before infra.mjs turned it on): every process may ' +
          'change anything. To turn it on: `npm run infra:down -- --only cassandra && npm run infra:up` ' +
          '(a restart; the data stays), or CASSANDRA_AUTH=off to keep it off without this warning',
      );
    return { required: false };
  }
  if (managed) await ensureCassandraRoles(cfg, log);
  const missing = CASSANDRA_ROLE_NAMES.filter((r) => !fs.existsSync(path.join(cfg.authDir, r)));
  if (missing.length)
    throw new InfraError(
      `Cassandra at ${cfg.host}:${cfg.nativePort} asks for credentials, and ${rel(cfg.authDir)} has no password for ${missing.join(', ')}. ` +
        'If another checkout started this node, set CASSANDRA_AUTH_DIR=<that checkout>/.nunchi/cassandra-auth.',
      { service: 'cassandra' },
    );
  return { required: true, dir: cfg.authDir };
}

/**
 * Makes the local node's roles, once: a superuser of its own (nunchi_admin) in place of the built-in
 * cassandra/cassandra, which is disabled; the migrator, which may create keyspaces and roles (and so owns
 * what it creates) and gets every permission on the nunchi keyspaces that exist already; and a password for
 * each service role, which `nunchi migrate` creates and grants. Passwords go into .nunchi/cassandra-auth/
 * (gitignored, readable by this user only). Idempotent: run on every `up`.
 */
async function ensureCassandraRoles(cfg, log) {
  let cassandra;
  try {
    cassandra = (await import('cassandra-driver')).default;
  } catch {
    throw new InfraError(
      'Making the Cassandra roles needs the cassandra-driver package: run `npm ci` first.',
      {
        service: 'cassandra',
      },
    );
  }
  const dir = cfg.authDir;
  const file = (role) => path.join(dir, role);
  mkdirp(dir);
  fs.chmodSync(dir, 0o700);
  const connect = async (username, password, waitMs) => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const client = new cassandra.Client({
        contactPoints: [`${cfg.host}:${cfg.nativePort}`],
        localDataCenter: cfg.localDataCenter,
        credentials: { username, password },
      });
      try {
        await client.connect();
        return client;
      } catch (error) {
        await client.shutdown().catch(() => undefined);
        if (Date.now() > deadline) throw error;
        await sleep(1000);
      }
    }
  };
  const write = (role, password) => fs.writeFileSync(file(role), `${password}\n`, { mode: 0o600 });
  let admin = fs.existsSync(file(ADMIN_ROLE))
    ? await connect(ADMIN_ROLE, fs.readFileSync(file(ADMIN_ROLE), 'utf8').trim(), 10_000).catch(
        () => undefined,
      )
    : undefined;
  if (!admin) {
    // First start with authentication (or a new data directory): the built-in superuser, replaced by one
    // with a password of our own.
    const first = await connect('cassandra', 'cassandra', 60_000).catch((e) => {
      throw new InfraError(
        `Cassandra refused the credentials of role ${ADMIN_ROLE} (${rel(file(ADMIN_ROLE))}) and of the built-in cassandra/cassandra (${e.message}). ` +
          `Put the password of a superuser named ${ADMIN_ROLE} in that file, or start over with a new data directory.`,
        { service: 'cassandra' },
      );
    });
    const password = newPassword();
    try {
      await first.execute(`CREATE ROLE IF NOT EXISTS ${ADMIN_ROLE} WITH SUPERUSER = true AND LOGIN = true`);
      await first.execute(`ALTER ROLE ${ADMIN_ROLE} WITH PASSWORD = '${password}'`);
      write(ADMIN_ROLE, password);
    } finally {
      await first.shutdown();
    }
    admin = await connect(ADMIN_ROLE, password, 10_000);
    await admin.execute('ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false');
    log(`made the superuser ${ADMIN_ROLE} and disabled the built-in cassandra role (passwords: ${rel(dir)})`);
  }
  try {
    for (const role of CASSANDRA_ROLE_NAMES) if (!fs.existsSync(file(role))) write(role, newPassword());
    const migrator = fs.readFileSync(file('nunchi_migrator'), 'utf8').trim();
    await admin.execute('CREATE ROLE IF NOT EXISTS nunchi_migrator WITH LOGIN = true');
    await admin.execute(`ALTER ROLE nunchi_migrator WITH PASSWORD = '${migrator}'`);
    // The migrator creates keyspaces and the service roles, and owns what it creates (Cassandra grants a
    // creator every permission on it); keyspaces made before authentication was on are handed to it here.
    await admin.execute('GRANT CREATE ON ALL KEYSPACES TO nunchi_migrator');
    await admin.execute('GRANT CREATE ON ALL ROLES TO nunchi_migrator');
    // The benchmarks, which run as the migrator, wait for compactions to settle (system_views.sstable_tasks)
    // before they measure: read-only, and only node state.
    await admin.execute('GRANT SELECT ON KEYSPACE system_views TO nunchi_migrator');
    const keyspaces = await admin.execute('SELECT keyspace_name FROM system_schema.keyspaces');
    for (const row of keyspaces.rows)
      if (/^nunchi/.test(row.keyspace_name))
        await admin.execute(`GRANT ALL PERMISSIONS ON KEYSPACE ${row.keyspace_name} TO nunchi_migrator`);
  } finally {
    await admin.shutdown();
  }
}

async function upCassandra(cfg, log) {
  // An existing cluster: check that it answers, start nothing.
  if (cfg.external) {
    const points = cfg.external.map((p) => `${p.host}:${p.port}`);
    const answers = [];
    for (const p of cfg.external)
      if (await cqlPing(p.host, p.port, 3000)) answers.push(`${p.host}:${p.port}`);
    if (answers.length === 0) {
      throw new InfraError(
        `Cassandra at CASSANDRA_CONTACT_POINTS=${points.join(',')} does not answer CQL; start it or unset the variable.`,
        {
          service: 'cassandra',
        },
      );
    }
    log(
      `using the existing cluster at ${points.join(', ')} (CASSANDRA_CONTACT_POINTS; ${answers.length} of ${points.length} answer)`,
    );
    const [host, port] = answers[0].split(/:(?=\d+$)/);
    return {
      running: true,
      managed: false,
      started: false,
      contactPoints: points,
      localDataCenter: cfg.localDataCenter,
      auth: await cassandraAuth({ ...cfg, host, nativePort: Number(port) }, log, { managed: false }),
    };
  }

  const address = `${cfg.host}:${cfg.nativePort}`;
  const base = { contactPoints: [address], localDataCenter: cfg.localDataCenter, logFile: CASSANDRA_LOG };
  const existing = ownedPid('cassandra');
  if (existing) {
    if (!(await cqlPing(cfg.host, cfg.nativePort))) {
      log(`already starting (pid ${existing}); waiting until it answers on ${address}`);
      await waitCassandraReady(cfg, { pid: existing, timeoutMs: cfg.timeoutMs, requireLogLine: false });
    } else {
      log(`already running (pid ${existing}) on ${address}`);
    }
    // Roles are made only on the node this checkout started at this address (not on another answering there).
    const startedHere = readMeta('cassandra')?.address === address;
    return {
      running: true,
      managed: true,
      started: false,
      pid: existing,
      ...base,
      auth: await cassandraAuth(cfg, log, { managed: startedHere }),
      tls: startedHere ? await runningNodeTls(cfg, log) : null,
    };
  }

  // A node this checkout did not start but that answers CQL on the configured address (another checkout's,
  // a CI run's neighbour, a package install) is used as it is, like an already running NATS or Zipkin.
  if (await cqlPing(cfg.host, cfg.nativePort)) {
    log(`using the Cassandra already answering on ${address} (not started by this checkout)`);
    return {
      running: true,
      managed: false,
      started: false,
      pid: listenerOf(cfg.nativePort)?.pid ?? null,
      ...base,
      auth: await cassandraAuth(cfg, log, { managed: false }),
    };
  }

  // Pre-flight: Java, ports, Maven (only if a fetch is needed) — before any slow work.
  const java = cassandraJava();
  const clash = await cassandraPortClash(cfg);
  if (clash) throw new InfraError(clash, { service: 'cassandra' });
  const needFetch = !cassandraFetched();
  if (needFetch) requireMvn(`Cassandra ${CASSANDRA_VERSION}`);

  const t0 = Date.now();
  const fetchMs = needFetch ? await fetchCassandra(java, log) : 0;

  const jamm = fs.readdirSync(C.lib).find((f) => /^jamm-.*\.jar$/.test(f));
  if (!jamm)
    throw new InfraError(`${rel(C.lib)} has no jamm jar; delete ${rel(C.lib)} and run up again.`, {
      service: 'cassandra',
    });

  const freshData = !fs.existsSync(path.join(C.data, 'data', 'system'));
  const cold = needFetch || freshData;
  mkdirp(C.data, C.logs);
  const tlsIdentity = cassandraTls(java, cfg, log);
  renderCassandraYaml(cfg, {
    settings: {
      ...(cfg.auth ? AUTH_SETTINGS : {}),
      ...(tlsIdentity ? { client_encryption_options: tlsIdentity.yaml } : {}),
    },
  });

  const offset = fileSize(CASSANDRA_LOG);
  const outOffset = fileSize(CASSANDRA_STDOUT);
  const args = [
    ...cassandraJvmArgs(cfg, { jamm: path.join(C.lib, jamm) }),
    '-cp',
    `${C.lib}${path.sep}*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  if (!java.isDefault) log(`using Java ${java.major} at ${java.home}`);
  log(
    `starting Cassandra ${CASSANDRA_VERSION} (heap ${cfg.heap}${freshData ? ', new data directory' : ''}); log: ${rel(CASSANDRA_LOG)}`,
  );
  const tBoot = Date.now();
  const launch = withTimerSlack(java.bin, args, cfg.timerSlackNs);
  const { pid, state } = spawnDetached(launch.bin, launch.args, {
    cwd: C.home,
    env: { ...process.env, JAVA_HOME: java.home },
    logFile: CASSANDRA_STDOUT,
    banner: `infra.mjs starts Cassandra ${CASSANDRA_VERSION}`,
  });
  writeRunState('cassandra', pid, {
    startedAt: new Date().toISOString(),
    version: CASSANDRA_VERSION,
    address,
    heap: cfg.heap,
    java: java.bin,
    cold,
  });
  await waitCassandraReady(cfg, {
    pid,
    state,
    offset,
    outOffset,
    timeoutMs: cfg.timeoutMs,
    requireLogLine: true,
  });
  const bootMs = Date.now() - tBoot;
  const startedMs = Date.now() - t0;
  updateMeta('cassandra', { readyMs: startedMs, bootMs, fetchMs });
  const detail = needFetch
    ? `cold: fetch ${secs(fetchMs)} + first boot ${secs(bootMs)}`
    : cold
      ? 'cold: new data directory'
      : 'warm';
  log(`ready in ${secs(startedMs)} (${detail}) on ${address}, pid ${pid}`);
  const auth = await cassandraAuth(cfg, log, { managed: true });
  return {
    tls: tlsIdentity ? { caFile: tlsIdentity.ca, taken: true } : null,
    running: true,
    managed: true,
    started: true,
    pid,
    startedMs,
    bootMs,
    fetchMs,
    cold,
    ...base,
    auth,
  };
}

// ---------------------------------------------------------------------------------------------------
// NATS
// ---------------------------------------------------------------------------------------------------

export function natsServerBin() {
  return which('nats-server', ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin']);
}

/**
 * The project's NATS identities (one nkey seed per service, adapter and the operator in `authDir`, kept if
 * there), which render server configurations (writeServerConfig): from the build (tools/nats-auth.ts renders
 * libs/messaging's permissions), so NATS needs `npm run build` first (npm ci runs it).
 */
export async function loadNatsAuth(authDir) {
  const module = path.join(ROOT, 'dist', 'tools', 'nats-auth.js');
  if (!fs.existsSync(module)) {
    throw new InfraError(
      `The NATS server's identities and permissions come from the build, and there is none: run \`npm run build\` first (${rel(module)} is missing).`,
      { service: 'nats' },
    );
  }
  const { ensureNatsAuth } = await import(pathToFileURL(module).href);
  return ensureNatsAuth({ dir: authDir });
}

/** Our server's configuration, with this checkout's identities and permissions; returns its path. */
async function writeNatsConfig(cfg) {
  return (await loadNatsAuth(cfg.authDir)).writeServerConfig(paths.nats.conf, {
    storeDir: paths.nats.store,
    host: loopback(cfg.host),
    port: cfg.port,
  });
}

/**
 * Our running server gets the identities and permissions of this checkout: a change to them (a service that
 * needs a new subject) would otherwise be refused until the server restarts. nats-server reloads its
 * authorization on a signal, without dropping connections.
 */
async function reloadNatsPermissions(cfg, pid, log) {
  const before = fs.existsSync(paths.nats.conf) ? fs.readFileSync(paths.nats.conf, 'utf8') : null;
  await writeNatsConfig(cfg);
  if (before === null || before === fs.readFileSync(paths.nats.conf, 'utf8')) return;
  const bin = natsServerBin();
  if (!bin)
    return log(
      'warning: its identities or permissions changed, and nats-server is not here to reload them: restart it',
    );
  const reload = spawnSync(bin, ['--signal', `reload=${pid}`], { encoding: 'utf8' });
  log(
    reload.status === 0
      ? 'its identities or permissions changed in this checkout: configuration reloaded'
      : `warning: its identities or permissions changed, and the reload failed (${(reload.stderr || reload.stdout).trim()}): \`npm run infra:down -- --only nats\` then \`npm run infra:up\``,
  );
}

function natsResult(cfg, info, extra) {
  return {
    running: true,
    url: cfg.url,
    jetstream: info?.jetstream === true,
    version: info?.version ?? null,
    ...extra,
  };
}

async function upNats(cfg, log) {
  const info = await natsInfo(cfg.host, cfg.port);
  const mine = ownedPid('nats');
  if (info) {
    if (info.raw !== undefined) {
      throw new InfraError(
        `Something answers on ${cfg.host}:${cfg.port} but it is not a NATS server (NATS_URL=${cfg.url}).`,
        {
          service: 'nats',
        },
      );
    }
    if (info.jetstream !== true) {
      throw new InfraError(
        `NATS at ${cfg.url} answers but without JetStream; restart it with \`-js\` (e.g. nats-server -js) or point NATS_URL at one that has it.`,
        { service: 'nats' },
      );
    }
    log(
      `${mine ? `already running (pid ${mine})` : 'using the server already running'} at ${cfg.url} (nats-server ${info.version}, JetStream on${info.auth_required ? ', with authentication' : ''})`,
    );
    if (!info.auth_required)
      log(
        mine
          ? `warning: it runs without the project's identities (started by an older infra:up): \`npm run infra:down -- --only nats\` then \`npm run infra:up\` restarts it with them`
          : "warning: it has no authentication: anyone who reaches it may publish offers or delete streams (unset NATS_URL for the project's own server, with identities, on 14222)",
      );
    else if (mine) await reloadNatsPermissions(cfg, mine, log);
    return natsResult(cfg, info, {
      managed: Boolean(mine),
      started: false,
      pid: mine ?? listenerOf(cfg.port)?.pid ?? null,
    });
  }
  if (!cfg.local) {
    throw new InfraError(
      `NATS at ${cfg.url} does not answer; start it there, or unset NATS_URL to use a local one.`,
      { service: 'nats' },
    );
  }
  if (mine) {
    log(`our nats-server (pid ${mine}) does not answer yet; waiting`);
  }
  const bin = natsServerBin();
  if (!mine && !bin) {
    throw new InfraError(
      `No NATS answers at ${cfg.url} and nats-server is not installed: \`apt-get install nats-server\` (or set NATS_URL to a server with JetStream).`,
      { service: 'nats' },
    );
  }
  const host = loopback(cfg.host);
  let pid = mine;
  let state = null;
  const t0 = Date.now();
  if (!mine) {
    if (!(await portFree(host, cfg.port))) {
      throw new InfraError(
        `NATS port ${host}:${cfg.port} is taken by ${describeListener(cfg.port)}, which does not speak NATS.`,
        {
          service: 'nats',
        },
      );
    }
    mkdirp(paths.nats.store);
    const conf = await writeNatsConfig(cfg);
    log(
      `starting ${bin} -js on ${host}:${cfg.port} with the project's NATS identities (${rel(cfg.authDir)}); store ${rel(paths.nats.store)}`,
    );
    ({ pid, state } = spawnDetached(bin, ['-js', '-c', conf], {
      cwd: paths.nats.home,
      env: process.env,
      logFile: paths.nats.log,
      banner: 'infra.mjs starts nats-server',
    }));
    writeRunState('nats', pid, { startedAt: new Date().toISOString(), url: cfg.url, bin });
  }
  const deadline = Date.now() + cfg.timeoutMs;
  while (Date.now() < deadline) {
    if (state?.exited || !isAlive(pid)) {
      throw new InfraError(`nats-server exited during start-up; see ${rel(paths.nats.log)}.`, {
        service: 'nats',
        logTail: tail(paths.nats.log, 15, state?.logOffset ?? 0),
      });
    }
    const i = await natsInfo(host, cfg.port, 1000);
    if (i && i.jetstream === true) {
      const ms = Date.now() - t0;
      log(`ready in ${secs(ms)} at ${cfg.url}, pid ${pid}`);
      return natsResult(cfg, i, { managed: true, started: !mine, pid, startedMs: ms });
    }
    await sleep(200);
  }
  throw new InfraError(
    `nats-server (pid ${pid}) did not answer within ${secs(cfg.timeoutMs)}; see ${rel(paths.nats.log)}.`,
    {
      service: 'nats',
      logTail: tail(paths.nats.log, 15, state?.logOffset ?? 0),
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// Zipkin
// ---------------------------------------------------------------------------------------------------

const isZipkinHealth = (r) => r && r.status === 200 && /zipkin/i.test(r.body);

function zipkinBase(cfg) {
  return { url: cfg.origin, ui: `${cfg.origin}/zipkin/`, endpoint: cfg.endpoint };
}

async function upZipkin(cfg, log) {
  if (cfg.disabled) {
    log(`skipped (${cfg.disabled})`);
    return { running: false, disabled: cfg.disabled, managed: false, started: false, ...zipkinBase(cfg) };
  }
  const health = `${cfg.origin}/health`;
  if (!cfg.local) {
    const r = await httpGet(health, 3000);
    log(
      isZipkinHealth(r)
        ? `using the Zipkin at ${cfg.origin} (OTEL_EXPORTER_ZIPKIN_ENDPOINT)`
        : `not started: OTEL_EXPORTER_ZIPKIN_ENDPOINT points at ${cfg.origin}, which does not answer ${health} right now`,
    );
    return { running: isZipkinHealth(r), managed: false, started: false, ...zipkinBase(cfg) };
  }

  const mine = ownedPid('zipkin');
  const now = await httpGet(health, 2000);
  if (isZipkinHealth(now)) {
    log(`${mine ? `already running (pid ${mine})` : 'using the Zipkin already running'} at ${cfg.origin}`);
    return {
      running: true,
      managed: Boolean(mine),
      started: false,
      pid: mine ?? listenerOf(cfg.port)?.pid ?? null,
      ...zipkinBase(cfg),
    };
  }

  let pid = mine;
  let state = null;
  const t0 = Date.now();
  let cold = false;
  if (!mine) {
    const java = zipkinJava();
    if (!(await portFree(cfg.host, cfg.port))) {
      throw new InfraError(
        `Zipkin's port ${cfg.host}:${cfg.port} is already taken by ${describeListener(cfg.port)}, which is not a Zipkin.`,
        {
          service: 'zipkin',
        },
      );
    }
    if (!fs.existsSync(paths.zipkin.jar)) {
      requireMvn(`Zipkin ${ZIPKIN_VERSION}`);
      cold = true;
      mkdirp(paths.zipkin.home);
      log(
        `fetching zipkin-server ${ZIPKIN_VERSION} (exec jar) from Maven Central into ${rel(paths.zipkin.home)}`,
      );
      await runMvn(
        [
          'dependency:copy',
          `-Dartifact=io.zipkin:zipkin-server:${ZIPKIN_VERSION}:jar:exec`,
          `-DoutputDirectory=${paths.zipkin.home}`,
        ],
        {
          cwd: paths.zipkin.home,
          logFile: path.join(paths.zipkin.home, 'maven.log'),
          java,
          what: `Zipkin ${ZIPKIN_VERSION}`,
          service: 'zipkin',
        },
      );
      if (!fs.existsSync(paths.zipkin.jar)) {
        throw new InfraError(
          `Maven finished but ${rel(paths.zipkin.jar)} is missing; see ${rel(path.join(paths.zipkin.home, 'maven.log'))}.`,
          {
            service: 'zipkin',
          },
        );
      }
    }
    const args = [
      `-Xmx${cfg.heap}`,
      '-XX:+ExitOnOutOfMemoryError',
      '-jar',
      paths.zipkin.jar,
      // Armeria serves everything (UI, API, collector, /health). Bind it to loopback only.
      `--armeria.ports[0].ip=${cfg.host}`,
      `--armeria.ports[0].port=${cfg.port}`,
      '--armeria.ports[0].protocols[0]=http',
    ];
    log(
      `starting Zipkin ${ZIPKIN_VERSION} on ${cfg.host}:${cfg.port} (in-memory, ${cfg.maxSpans} spans max); log: ${rel(paths.zipkin.log)}`,
    );
    ({ pid, state } = spawnDetached(java.bin, args, {
      cwd: paths.zipkin.home,
      env: {
        ...process.env,
        JAVA_HOME: java.home,
        QUERY_PORT: String(cfg.port),
        STORAGE_TYPE: 'mem',
        MEM_MAX_SPANS: String(cfg.maxSpans),
      },
      logFile: paths.zipkin.log,
      banner: `infra.mjs starts zipkin-server ${ZIPKIN_VERSION}`,
    }));
    writeRunState('zipkin', pid, {
      startedAt: new Date().toISOString(),
      url: cfg.origin,
      java: java.bin,
      cold,
    });
  } else {
    log(`already starting (pid ${mine}); waiting for ${health}`);
  }

  const deadline = Date.now() + cfg.timeoutMs;
  while (Date.now() < deadline) {
    if (state?.exited || !isAlive(pid)) {
      throw new InfraError(`Zipkin exited during start-up; see ${rel(paths.zipkin.log)}.`, {
        service: 'zipkin',
        logTail: tail(paths.zipkin.log, 15, state?.logOffset ?? 0),
      });
    }
    if (isZipkinHealth(await httpGet(health, 1000))) {
      const ms = Date.now() - t0;
      if (!mine) updateMeta('zipkin', { readyMs: ms });
      log(`ready in ${secs(ms)}${cold ? ' (cold: jar fetched)' : ''} — UI ${cfg.origin}/zipkin/, pid ${pid}`);
      return { running: true, managed: true, started: !mine, pid, startedMs: ms, cold, ...zipkinBase(cfg) };
    }
    await sleep(250);
  }
  throw new InfraError(
    `Zipkin (pid ${pid}) did not answer ${health} within ${secs(cfg.timeoutMs)}; see ${rel(paths.zipkin.log)}.`,
    {
      service: 'zipkin',
      logTail: tail(paths.zipkin.log, 15, state?.logOffset ?? 0),
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

function normOnly(only) {
  if (only == null || only === '') return [...SERVICES];
  const list = (Array.isArray(only) ? only : String(only).split(','))
    .map((s) => String(s).trim().toLowerCase())
    .filter(Boolean);
  for (const s of list) {
    if (!SERVICES.includes(s))
      throw new InfraError(`Unknown service '${s}'; choose from ${SERVICES.join(', ')}.`);
  }
  return SERVICES.filter((s) => list.includes(s));
}

function makeLog(options) {
  if (options.quiet) return () => () => {};
  if (typeof options.log === 'function') return (svc) => (msg) => options.log(`${svc}: ${msg}`);
  return (svc) => (msg) => process.stderr.write(`${svc}: ${msg}\n`);
}

/**
 * Starts (or finds) the selected services and waits until each is ready.
 *
 * @param {{only?: string[]|string, quiet?: boolean, log?: (line: string) => void, env?: Record<string,string|undefined>}} [options]
 * @returns {Promise<{cassandra?: object, nats?: object, zipkin?: object}>} one entry per selected service, e.g.
 *   cassandra: {running, managed, started, pid, contactPoints, localDataCenter, startedMs, cold}
 *   nats:      {running, managed, started, pid, url, jetstream, version}
 *   zipkin:    {running, managed, started, pid, url, ui, endpoint, disabled?}
 * @throws {InfraError} with a one-sentence message (and `logTail` when a service failed to start)
 */
export async function up(options = {}) {
  const only = normOnly(options.only);
  const cfg = readConfig(options.env ?? process.env);
  const log = makeLog(options);
  return withLock(async () => {
    mkdirp(paths.run);
    const results = {};
    // Every result carries startedMs (time this call spent making it ready) and cold.
    const timed = async (fn) => {
      const t0 = Date.now();
      const r = await fn();
      return { ...r, startedMs: r.startedMs ?? Date.now() - t0, cold: r.cold ?? false };
    };
    // NATS first (instant); Cassandra and Zipkin boot side by side (Maven runs one at a time).
    if (only.includes('nats')) results.nats = await timed(() => upNats(cfg.nats, log('nats')));
    const jobs = [];
    if (only.includes('cassandra'))
      jobs.push(['cassandra', timed(() => upCassandra(cfg.cassandra, log('cassandra')))]);
    if (only.includes('zipkin')) jobs.push(['zipkin', timed(() => upZipkin(cfg.zipkin, log('zipkin')))]);
    const settled = await Promise.allSettled(jobs.map(([, p]) => p));
    let failure = null;
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') results[jobs[i][0]] = s.value;
      else failure ??= s.reason;
    });
    if (failure) throw failure;
    return results;
  });
}

async function stopPid(svc, pid, graceMs, log) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if (e.code === 'ESRCH') return { stopped: true, forced: false };
    throw new InfraError(`Could not stop ${svc} (pid ${pid}): ${e.message}.`, { service: svc });
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return { stopped: true, forced: false };
    await sleep(200);
  }
  log(`still running after ${secs(graceMs)}; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return { stopped: !isAlive(pid), forced: true };
}

const GRACE_MS = { cassandra: 60_000, zipkin: 15_000, nats: 15_000 };

/**
 * Stops what this script started (by pid file): SIGTERM, then SIGKILL after a grace period.
 * Never touches a server it did not start (e.g. the system NATS).
 *
 * @param {{only?: string[]|string, quiet?: boolean, log?: (line: string) => void}} [options]
 * @returns {Promise<Record<string, {wasRunning: boolean, stopped: boolean, pid?: number, forced?: boolean, ms?: number}>>}
 */
export async function down(options = {}) {
  const only = normOnly(options.only);
  const log = makeLog(options);
  return withLock(async () => {
    const results = {};
    // Stop in reverse dependency order; in parallel, since they are independent.
    await Promise.all(
      ['zipkin', 'cassandra', 'nats']
        .filter((s) => only.includes(s))
        .map(async (svc) => {
          const l = log(svc);
          const pid = ownedPid(svc);
          if (!pid) {
            l('not running (nothing of ours to stop)');
            results[svc] = { wasRunning: false, stopped: true };
            return;
          }
          const t0 = Date.now();
          l(`stopping pid ${pid}`);
          const r = await stopPid(svc, pid, GRACE_MS[svc], l);
          const ms = Date.now() - t0;
          if (r.stopped) {
            fs.rmSync(pidFile(svc), { force: true });
            l(`stopped in ${secs(ms)}${r.forced ? ' (killed)' : ''}`);
          }
          results[svc] = { wasRunning: true, stopped: r.stopped, forced: r.forced, pid, ms };
        }),
    );
    const failed = Object.entries(results).find(([, r]) => !r.stopped);
    if (failed)
      throw new InfraError(`Could not stop ${failed[0]} (pid ${failed[1].pid}), even with SIGKILL.`, {
        service: failed[0],
      });
    return Object.fromEntries(SERVICES.filter((s) => s in results).map((s) => [s, results[s]]));
  });
}

/**
 * Reports each service without changing anything.
 * state: 'running' | 'starting' | 'stopped' | 'disabled' | 'foreign' (port taken by something that is not it)
 *
 * @param {{only?: string[]|string, env?: Record<string,string|undefined>}} [options]
 */
export async function status(options = {}) {
  const only = normOnly(options.only);
  const cfg = readConfig(options.env ?? process.env);
  const out = {};

  if (only.includes('cassandra')) {
    const c = cfg.cassandra;
    if (c.external) {
      const points = c.external.map((p) => `${p.host}:${p.port}`);
      let ok = false;
      for (const p of c.external) if (!ok) ok = await cqlPing(p.host, p.port, 2000);
      out.cassandra = {
        state: ok ? 'running' : 'stopped',
        running: ok,
        managed: false,
        pid: null,
        address: points.join(','),
        contactPoints: points,
        localDataCenter: c.localDataCenter,
      };
    } else {
      const pid = ownedPid('cassandra');
      const ok = await cqlPing(c.host, c.nativePort, 2000);
      const meta = pid ? readMeta('cassandra') : null;
      out.cassandra = {
        state: pid ? (ok ? 'running' : 'starting') : ok ? 'foreign' : 'stopped',
        running: ok,
        managed: Boolean(pid),
        pid: pid ?? (ok ? (listenerOf(c.nativePort)?.pid ?? null) : null),
        address: `${c.host}:${c.nativePort}`,
        contactPoints: [`${c.host}:${c.nativePort}`],
        localDataCenter: c.localDataCenter,
        startedAt: meta?.startedAt ?? null,
        logFile: CASSANDRA_LOG,
      };
    }
  }

  if (only.includes('nats')) {
    const n = cfg.nats;
    const info = await natsInfo(n.host, n.port, 2000);
    const pid = ownedPid('nats');
    const isNats = Boolean(info && info.raw === undefined);
    out.nats = {
      state: isNats ? 'running' : pid ? 'starting' : info ? 'foreign' : 'stopped',
      running: isNats,
      managed: Boolean(pid),
      pid: pid ?? (isNats && n.local ? (listenerOf(n.port)?.pid ?? null) : null),
      address: n.url,
      url: n.url,
      jetstream: info?.jetstream === true,
      version: info?.version ?? null,
    };
  }

  if (only.includes('zipkin')) {
    const z = cfg.zipkin;
    if (z.disabled && !(z.local && ownedPid('zipkin'))) {
      out.zipkin = {
        state: 'disabled',
        disabled: z.disabled,
        running: false,
        managed: false,
        pid: null,
        address: z.origin,
        ...zipkinBase(z),
      };
    } else {
      const r = await httpGet(`${z.origin}/health`, 2000);
      const pid = z.local ? ownedPid('zipkin') : null;
      const ok = isZipkinHealth(r);
      out.zipkin = {
        state: ok ? 'running' : pid ? 'starting' : r ? 'foreign' : 'stopped',
        running: ok,
        managed: Boolean(pid),
        pid: pid ?? (ok && z.local ? (listenerOf(z.port)?.pid ?? null) : null),
        address: z.origin,
        ...zipkinBase(z),
      };
    }
  }
  return out;
}

/**
 * Runs Cassandra's `nodetool` (it ships inside cassandra-all) against the local node over its
 * loopback-only JMX port, e.g. nodetool(['status']). Resolves to the exit code; output is inherited.
 */
export async function nodetool(args = [], { env = process.env } = {}) {
  const cfg = readConfig(env).cassandra;
  if (!cassandraFetched())
    throw new InfraError('Cassandra is not fetched yet: run `npm run infra:up` first.', {
      service: 'cassandra',
    });
  if (cfg.jmxPort <= 0)
    throw new InfraError('nodetool needs JMX, which CASSANDRA_JMX_PORT=0 turned off.', {
      service: 'cassandra',
    });
  const java = cassandraJava();
  const r = spawnSync(
    java.bin,
    [
      ...jpmsArgs(),
      `-Dlogback.configurationFile=${path.join(ROOT, 'scripts', 'cassandra', 'logback-tools.xml')}`,
      `-Dcassandra.logdir=${C.logs}`,
      '-cp',
      `${C.lib}${path.sep}*`,
      'org.apache.cassandra.tools.NodeTool',
      '-h',
      cfg.host,
      '-p',
      String(cfg.jmxPort),
      ...args,
    ],
    { stdio: 'inherit', env: { ...env, JAVA_HOME: java.home } },
  );
  return r.status ?? 1;
}

// ---------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------

function printTable(st) {
  const rows = [['service', 'state', 'address', 'pid', '']];
  for (const [svc, s] of Object.entries(st)) {
    const who =
      s.state === 'foreign'
        ? 'not started by infra.mjs'
        : s.state === 'disabled'
          ? `skipped: ${s.disabled}`
          : s.managed
            ? 'started by infra.mjs'
            : s.running
              ? 'external'
              : '';
    rows.push([svc, s.state, s.address ?? '', s.pid ? String(s.pid) : '-', who]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    );
}

function usage() {
  return [
    'usage: node scripts/infra.mjs <up|down|status> [--only cassandra,nats,zipkin] [--json] [--quiet]',
    '       node scripts/infra.mjs <up|down|status> --cluster   three hosts (network namespaces), each with a Cassandra node and a nats-server: scripts/cluster.mjs',
    '       node scripts/infra.mjs nodetool <args...>   (e.g. nodetool status, nodetool tablestats nunchi)',
    '  up      start (or find) Cassandra, NATS and Zipkin and wait until they are ready',
    '  down    stop what `up` started (never a NATS or Zipkin it did not start)',
    '  status  show what is running',
    'Everything lives under .nunchi/; environment variables: see docs/infrastructure.md.',
  ].join('\n');
}

async function main(argv) {
  const args = argv.slice(2);
  // Three hosts in network namespaces (issue 13): scripts/cluster.mjs.
  if (args.includes('--cluster'))
    return (await import('./cluster.mjs')).main(args.filter((a) => a !== '--cluster'));
  if (args[0] === 'nodetool') {
    // everything after `nodetool` belongs to nodetool (including -h)
    try {
      return await nodetool(args.slice(1));
    } catch (e) {
      if (!(e instanceof InfraError)) throw e;
      console.error(`infra: ${e.message}`);
      return 1;
    }
  }
  let cmd;
  let only;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--only') only = args[++i] ?? '';
    else if (a.startsWith('--only=')) only = a.slice(7);
    else if (!a.startsWith('-') && cmd === undefined) cmd = a;
  }
  const json = args.includes('--json');
  const quiet = args.includes('--quiet');
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage());
    return 0;
  }
  if (!cmd) {
    console.error(usage());
    return 2;
  }
  const log = (line) => (json ? process.stderr.write(`${line}\n`) : console.log(line));
  const opts = { only, quiet, log: quiet ? undefined : log };
  try {
    if (cmd === 'up') {
      const r = await up(opts);
      if (json) console.log(JSON.stringify(r, null, 2));
      else if (!quiet) {
        console.log('');
        printTable(await status({ only }));
      }
    } else if (cmd === 'down') {
      const r = await down(opts);
      if (json) console.log(JSON.stringify(r, null, 2));
    } else if (cmd === 'status') {
      const r = await status({ only });
      if (json) console.log(JSON.stringify(r, null, 2));
      else printTable(r);
    } else {
      console.error(`infra: unknown command '${cmd}'.\n${usage()}`);
      return 2;
    }
    return 0;
  } catch (e) {
    if (e instanceof InfraError) {
      console.error(`infra: ${e.message}`);
      if (e.logTail?.length) console.error(e.logTail.map((l) => `  | ${l}`).join('\n'));
      return 1;
    }
    console.error(`infra: unexpected failure: ${e?.stack ?? e}`);
    return 1;
  }
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
