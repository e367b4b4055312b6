import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChannelList, parseQuietHours, type ContactPolicy } from '@nunchi/contracts/core';
import { EnvReader } from './env-reader.js';
import { projectPath } from './paths.js';

export type ServiceName = 'ingestion' | 'context' | 'decision' | 'analytics' | 'cli';

export interface NatsConfig {
  /** one or more server URLs, comma-separated in NATS_URL */
  url: string;
  servers: string[];
  /** replicas of each JetStream stream (3 on a NATS cluster) */
  streamReplicas: number;
  /** partitions of the EVENTS and ENRICHED streams; fixed when the streams are first created */
  partitions: number;
  /** JetStream duplicate window, milliseconds */
  duplicateWindowMs: number;
  /** partition lease lifetime without renewal, milliseconds: a dead replica's partitions move after about 1.25× this */
  leaseTtlMs: number;
  /** byte limit of each JetStream stream (see StreamMaxBytes) */
  streamMaxBytes: StreamMaxBytes;
  /** who this process is to NATS; undefined: no credentials (a server without accounts: development, tests) */
  auth: NatsAuth | undefined;
  /**
   * prefix of this process's reply subjects: `_INBOX_<user>` with credentials, so that the server can let each
   * identity read its own replies only (docs/security.md); `_INBOX` without
   */
  inboxPrefix: string;
  /** PEM file of the CA that signed the server's certificate: TLS to NATS (NATS_TLS_CA_FILE) */
  tlsCaFile?: string;
}

/**
 * One identity of the generated NATS configuration (`npm run nats:config`, libs/messaging nats-accounts.ts):
 * its name (which names its reply subjects) and either its nkey seed — the server holds only the public key —
 * or a password.
 */
export type NatsAuth = { user: string; seed: string; from: string } | { user: string; password: string };

/** The NATS identity of each process kind: the CLI (and the tools that act for an operator) is `operator`. */
export const natsIdentityOf = (service: ServiceName): string => (service === 'cli' ? 'operator' : service);

/** A directory setting (NUNCHI_NATS_AUTH_DIR, CASSANDRA_AUTH_DIR) turned off: no local credentials. */
export const turnedOff = (value: string | undefined): boolean =>
  !!value && ['off', 'none', 'false', '0'].includes(value.toLowerCase());

/** Where the local identities' seeds live: NUNCHI_NATS_AUTH_DIR, else `<project>/.nunchi/nats-auth`. */
export function natsAuthDir(env: Record<string, string | undefined> = process.env): string | undefined {
  const dir = env['NUNCHI_NATS_AUTH_DIR'];
  if (turnedOff(dir)) return undefined;
  return dir || projectPath('.nunchi', 'nats-auth');
}

/** The seed file of one identity in an auth directory (written by tools/nats-auth.ts). */
export const natsSeedFile = (dir: string, user: string) => join(dir, `${user}.nk`);

/**
 * The environment that makes a child process connect as `user` with its seed from the local auth directory,
 * replacing the identity it would inherit from a seed file (the test runner's processes are `operator`);
 * empty when there is no such seed (a server without accounts), or when the environment gives a password or
 * a seed itself.
 */
export function natsIdentityEnv(
  user: string,
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  // credentials given some other way (a server configured with passwords) are left alone
  if (env['NATS_PASSWORD'] || env['NATS_PASSWORD_FILE'] || env['NATS_NKEY_SEED']) return {};
  const dir = natsAuthDir(env);
  if (!dir || !existsSync(natsSeedFile(dir, user))) return {};
  return {
    NATS_USER: user,
    NATS_NKEY_SEED_FILE: natsSeedFile(dir, user),
    NATS_NKEY_SEED: undefined,
    NATS_PASSWORD: undefined,
    NATS_PASSWORD_FILE: undefined,
  };
}

/**
 * Bytes each stream may hold. JetStream reserves them on its disk when the stream is created, so a flood on
 * one stream (rejected input into DLQ, say) cannot take the space another needs. At the limit, EVENTS and
 * ENRICHED refuse new messages (nothing accepted is ever dropped: ingestion answers UNAVAILABLE_RETRY), while
 * DECISIONS, DLQ and LEASES drop their oldest. Size EVENTS for its 7 days of retention at the peak rate.
 */
export interface StreamMaxBytes {
  events: number;
  enriched: number;
  decisions: number;
  dlq: number;
  leases: number;
}

/** MiB per stream unless configured: 7.3 GiB in all, which a laptop's or a CI runner's disk can reserve. */
export const DEFAULT_STREAM_MAX_MIB: Readonly<StreamMaxBytes> = Object.freeze({
  events: 4096,
  enriched: 2048,
  decisions: 1024,
  dlq: 256,
  leases: 16,
});

/** Time limits of the HTTP servers, milliseconds: a slow or stuck client cannot hold a socket for ever. */
export interface HttpTimeouts {
  /** to receive a whole request, headers and body (slow senders are cut off with 408) */
  requestMs: number;
  /** to answer a request once received; past it the caller gets 503 (the work itself is not interrupted) */
  handlerMs: number;
  /** an idle connection, kept alive between requests, is closed after this */
  keepAliveMs: number;
}

export interface CassandraConfig {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  /** CQL replication map used when the migration creates the keyspace */
  replication: string;
  /**
   * the Cassandra role this process logs in as (one per service: docs/security.md, "Cassandra roles");
   * undefined: no credentials (a node without authentication: development, tests)
   */
  username?: string;
  password?: string;
  /** TLS to Cassandra (CASSANDRA_TLS_*); undefined: plain TCP */
  tls?: CassandraTls;
  /**
   * `nunchi migrate` only: a directory with one file per service role, named after the role, holding its
   * password (a mounted secret): the migration creates the roles and sets (or rotates) their passwords
   */
  rolePasswordsDir?: string;
  /**
   * the directory of the local node's role passwords the credentials were taken from (CASSANDRA_AUTH_DIR, or
   * .nunchi/cassandra-auth in development mode) when CASSANDRA_USERNAME is not set: see asMigrator
   */
  localAuthDir?: string;
}

/** The Cassandra role each process logs in as (docs/security.md, "Cassandra roles"); the CLI is the operator's. */
export const CASSANDRA_SERVICE_ROLES: Readonly<Record<ServiceName, string>> = Object.freeze({
  ingestion: 'nunchi_ingestion',
  context: 'nunchi_context',
  decision: 'nunchi_decision',
  analytics: 'nunchi_analytics',
  cli: 'nunchi_operator',
});
/** The only role that may change the schema and create the others. */
export const CASSANDRA_MIGRATOR_ROLE = 'nunchi_migrator';

/**
 * The configuration `nunchi migrate` logs in with: as configured, unless the credentials are the local node's
 * (taken from its password directory, no CASSANDRA_USERNAME set), then the migrator's from the same directory,
 * which also gives the service roles' passwords. So `npm run migrate` works on the local node as it is.
 */
export function asMigrator(config: CassandraConfig): CassandraConfig {
  const dir = config.localAuthDir;
  if (!dir || !existsSync(join(dir, CASSANDRA_MIGRATOR_ROLE))) return config;
  return {
    ...config,
    username: CASSANDRA_MIGRATOR_ROLE,
    password: readFileSync(join(dir, CASSANDRA_MIGRATOR_ROLE), 'utf8').trim(),
    rolePasswordsDir: config.rolePasswordsDir ?? dir,
  };
}

/** TLS to Cassandra: the node's CA, and a client certificate when the node asks for one. */
export interface CassandraTls {
  /** PEM file of the CA that signed the nodes' certificates; undefined: the system's CAs */
  caFile?: string;
  /** PEM client certificate and its key (client_encryption_options.require_client_auth) */
  certFile?: string;
  keyFile?: string;
  /** check that a node's certificate names the address connected to; @default true */
  verifyHostname: boolean;
}

export interface TelemetryConfig {
  serviceName: string;
  exporter: 'zipkin' | 'otlp' | 'console' | 'none';
  zipkinEndpoint: string;
  otlpEndpoint: string;
  /** spans buffered before export; the SDK default (2048) drops spans in bursts */
  maxQueueSize: number;
  /**
   * `events`: about six spans per event across the services (receive, context apply, decide, offer publish,
   * analytics); `statements`: also one span per Cassandra statement (diagnosis; several per event)
   */
  detail: 'events' | 'statements';
}

export interface DomainConfig {
  /** IANA timezone whose local day bounds daily rollups and caps */
  timeZone: string;
  /**
   * The current key of identities: the HMAC key of every stored identifier (loyalty card, phone, e-mail, device
   * id), and the key that seals personal data in the DLQ. Undefined when none is configured outside development mode: ingestion then
   * refuses to start, and a CLI command that needs it fails naming the variable (requireIdentityKey). Never logged.
   */
  identityKey: IdentityKey | undefined;
  /**
   * Keys retired by a rotation and still read (NUNCHI_IDENTITY_PREVIOUS_KEYS): an identity stored under one is
   * found and stored again under the current key; a DLQ entry sealed with one can still be replayed.
   */
  previousIdentityKeys: IdentityKey[];
  /** days an event is kept in customer_events */
  eventTtlDays: number;
  /** milliseconds from receipt within which an offer must reach the channel, else recorded as late */
  slaMs: number;
  /** offers per customer per local day across all campaigns */
  maxOffersPerCustomerPerDay: number;
  /** consent per channel and quiet hours, checked for every campaign (libs/rules contactRefusal) */
  contactPolicy: ContactPolicy;
  /** hot-tier size, customers */
  cacheMaxEntries: number;
  /** hot-tier size, MiB of estimated heap (a customer with a year of varied activity takes ~20–40 KiB) */
  cacheMaxMiB: number;
  /**
   * days of activity warmed up: customers a context replica preloads into its hot tier for each partition it
   * gains, whose data keys and contact ledgers a decision replica reads for each partition it gains, and whose
   * data keys ingestion and analytics read at start (0: none)
   */
  preloadDays: number;
  /**
   * milliseconds: ingestion replicas read the erasure and identifier-change logs every half of this (and trust
   * a cached entry only this long while they cannot); erasure and identifier moves return no sooner than this
   * after their change is written, so that no replica still answers from before the change
   */
  identityCacheTtlMs: number;
  /** what ingestion does with an identifier no customer has: create an anonymous customer, or refuse the event */
  unknownIdentifiers: 'create' | 'refuse';
  /**
   * milliseconds: while a partition's context or decision consumer holds a message older than this, ingestion
   * refuses new events of that partition with OVERLOADED_RETRY, and a share of them past half of it (0: never);
   * past half of it, analytics also yields to the hot path
   */
  admissionMaxLagMs: number;
  /**
   * milliseconds an analytics handler waits, at most, for the hot path to catch up before it goes on, while a
   * context or decision consumer is behind by more than half of admissionMaxLagMs (0: never waits)
   */
  analyticsYieldMaxMs: number;
  /**
   * milliseconds: a simulation on history (the campaigns API's worker, `nunchi campaigns simulate` and
   * `compare`) pauses its reads and its replay while a context or decision consumer holds a message older
   * than this — live decisions first (0: never pauses)
   */
  simulationYieldLagMs: number;
  /**
   * events per second the adapters of one channel may send through the NATS door, every ingestion replica
   * together (docs/security.md, "Rate limits per adapter"); 0: no limit
   */
  adapterRatePerSecond: number;
  /** channels with a rate of their own (NUNCHI_ADAPTER_RATES=pos=5000,web=500), events per second; 0: no limit */
  adapterRates: Record<string, number>;
  /** contact ledgers the decision service keeps, customers (0: none, every decision with candidates reads) */
  ledgerCacheMaxEntries: number;
  /** contact ledgers the decision service keeps, MiB of estimated heap (a ledger takes ~0.3–2 KiB) */
  ledgerCacheMaxMiB: number;
  /**
   * customers' data keys (crypto-shredding) context and decision keep in memory, least recently used first
   * (~150 bytes each): a repeat customer's ENRICHED message is sealed and opened without a Cassandra read
   */
  dataKeyCacheMaxEntries: number;
}

/** What the web console (served by the analytics service) links to and reads from. */
export interface ConsoleConfig {
  /** a decision's trace in the trace backend; `{traceId}` is replaced by the trace id */
  traceUrl: string;
  /** the context service's HTTP base URL: the console relays a customer's context from it */
  contextUrl: string;
  /** the decision service's HTTP base URL: the console reads event → offer latency from its /metrics */
  decisionUrl: string;
}

/** Who may call the HTTP APIs (docs/security.md, "HTTP authentication and roles"). */
export interface AuthConfig {
  /** how long a verified API key (or its absence) is trusted without reading Cassandra again, ms: a revocation takes this long */
  cacheTtlMs: number;
  /** /metrics answers without credentials (a Prometheus scraper inside the private network) */
  metricsPublic: boolean;
  /** requests per second of a person's bearer token (API keys carry their own) */
  tokenRatePerSecond: number;
  /** people's bearer tokens (JWTs from an OIDC provider); none: only API keys */
  oidc?: OidcConfig;
  /**
   * the CLI's own API key (NUNCHI_API_KEY): its changes are then audited as that key's, verified against the
   * key store, and its role must allow them; none: the CLI's changes are attributed to the OS user, unverified
   */
  cliApiKey?: string;
  /**
   * the analytics service's base URL (NUNCHI_API_URL): `nunchi keys`, `nunchi audit`, `nunchi stats` and the
   * campaign commands that read, check or change stored campaigns then go over its HTTP API with cliApiKey, held
   * to its role, instead of reaching Cassandra with its credentials
   */
  cliApiUrl?: string;
}

export interface OidcConfig {
  /** the `iss` every token must carry */
  issuer: string;
  /** an `aud` every token must carry */
  audience: string;
  /** where the provider's signing keys are: an https:// JWKS URL, or a JWKS file (a path) */
  jwks: string;
  /** the claim listing the caller's Nunchi roles (an array, or a space-separated string) */
  rolesClaim: string;
}

/** A secret with the id that names it wherever its work is kept (sealed DLQ entries) and in a rotation. */
export interface IdentityKey {
  /** [A-Za-z0-9_-]{1,32}; "dev" for the development key */
  id: string;
  /** at least 16 characters */
  secret: string;
}

export interface NunchiConfig {
  service: ServiceName;
  /**
   * An explicit development mode (NUNCHI_DEV_MODE=1, or NODE_ENV=development or test): the only mode in which
   * the public development identity key stands in for a missing NUNCHI_IDENTITY_SECRET.
   */
  devMode: boolean;
  /** HTTP port of this service */
  httpPort: number;
  httpHost: string;
  httpTimeouts: HttpTimeouts;
  nats: NatsConfig;
  cassandra: CassandraConfig;
  telemetry: TelemetryConfig;
  domain: DomainConfig;
  console: ConsoleConfig;
  auth: AuthConfig;
  /** fault injection for crash tests (NUNCHI_FAILPOINT); undefined in any real deployment */
  failpoint?: Failpoint;
}

/** Failpoints the services know: where a crash test may stop a process dead (SIGKILL of itself). */
export const FAILPOINTS = ['context.after-write'] as const;

/** `<point>=<event id>`: kill the process when the event with that id reaches the point. */
export interface Failpoint {
  point: (typeof FAILPOINTS)[number];
  eventId: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  ingestion: 3001,
  context: 3002,
  decision: 3003,
  analytics: 3004,
  cli: 0,
};

const MIB = 1_048_576;

/** Public (it is in the source): protects nothing, so it is used only in an explicit development mode. */
const DEV_IDENTITY_KEY: IdentityKey = Object.freeze({ id: 'dev', secret: 'nunchi-dev-only-identity-secret' });
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** What to do without a key, for every message that reports one missing. */
const NO_KEY =
  "is not set, and outside development mode there is no default: it is the key that protects customers' loyalty " +
  "cards, phone numbers, e-mail addresses and device ids (HMAC), the personal data kept in the DLQ and customers' data keys. Set it to a random secret of at " +
  'least 16 characters, the same for every service and the CLI (e.g. `openssl rand -base64 48`); or, on a ' +
  'development machine, set NUNCHI_DEV_MODE=1 to use the public development key';

/**
 * The identity key, or a ConfigError naming NUNCHI_IDENTITY_SECRET: for the CLI commands that hash or seal
 * personal data (the services that need it check at boot).
 */
export function requireIdentityKey(config: NunchiConfig): IdentityKey {
  if (!config.domain.identityKey) throw new ConfigError([`NUNCHI_IDENTITY_SECRET ${NO_KEY}`]);
  return config.domain.identityKey;
}

/** Every key the process can read with, the current one first. */
export function identityKeys(config: {
  domain: Pick<DomainConfig, 'identityKey' | 'previousIdentityKeys'>;
}): IdentityKey[] {
  return [
    ...(config.domain.identityKey ? [config.domain.identityKey] : []),
    ...config.domain.previousIdentityKeys,
  ];
}

/**
 * The services that hash or seal personal data on every event, and so cannot start without the key: ingestion
 * (identities, the DLQ), context and decision (customers' data keys are wrapped under a key derived from it).
 */
const NEEDS_IDENTITY_KEY: readonly ServiceName[] = ['ingestion', 'context', 'decision'];

/** events per second: beyond any door's capacity, so a typo's extra digit is caught */
const MAX_ADAPTER_RATE = 10_000_000;

/** NUNCHI_ADAPTER_RATES: `<channel>=<events per second>`, comma-separated. */
function readAdapterRates(r: EnvReader): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const item of (r.optional('NUNCHI_ADAPTER_RATES') ?? '').split(',')) {
    if (item.trim() === '') continue;
    const [channel = '', rate = ''] = item.split('=').map((s) => s.trim());
    const n = Number(rate);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(channel) || !/^\d+$/.test(rate) || n > MAX_ADAPTER_RATE)
      r.problems.push(
        `NUNCHI_ADAPTER_RATES="${item}" must be <channel>=<events per second 0-${MAX_ADAPTER_RATE}>, comma-separated (e.g. pos=5000,web=500)`,
      );
    else rates[channel] = n;
  }
  return rates;
}

function readContactPolicy(r: EnvReader): ContactPolicy {
  const parsed = <T>(key: string, parse: (text: string) => T, empty: T): T => {
    try {
      return parse(r.optional(key) ?? '');
    } catch (error) {
      r.problems.push(`${key}: ${(error as Error).message}`);
      return empty;
    }
  };
  return {
    optInChannels: parsed('NUNCHI_CONSENT_OPT_IN_CHANNELS', parseChannelList, []),
    quietHours: parsed('NUNCHI_QUIET_HOURS', parseQuietHours, {}),
  };
}

function readIdentityKeys(
  r: EnvReader,
  service: ServiceName,
  devMode: boolean,
): { identityKey: IdentityKey | undefined; previousIdentityKeys: IdentityKey[] } {
  const secret = r.optional('NUNCHI_IDENTITY_SECRET');
  const keyId = r.optional('NUNCHI_IDENTITY_KEY_ID');
  if (keyId !== undefined)
    r.check('NUNCHI_IDENTITY_KEY_ID', KEY_ID.test(keyId), 'must be 1-32 of [A-Za-z0-9_-]');
  let identityKey: IdentityKey | undefined;
  if (secret !== undefined) {
    r.check('NUNCHI_IDENTITY_SECRET', secret.length >= 16, 'must be at least 16 characters');
    identityKey = { id: keyId ?? 'k1', secret };
  } else if (devMode) identityKey = DEV_IDENTITY_KEY;
  else if (NEEDS_IDENTITY_KEY.includes(service)) r.problems.push(`NUNCHI_IDENTITY_SECRET ${NO_KEY}`);

  const previousIdentityKeys: IdentityKey[] = [];
  for (const item of (r.optional('NUNCHI_IDENTITY_PREVIOUS_KEYS') ?? '').split(',')) {
    if (item.trim() === '') continue;
    const at = item.indexOf(':');
    const id = item.slice(0, Math.max(0, at)).trim();
    const old = item.slice(at + 1).trim();
    if (at < 0 || !KEY_ID.test(id) || old.length < 16) {
      r.problems.push(
        `NUNCHI_IDENTITY_PREVIOUS_KEYS must be <key id>:<secret> pairs, comma-separated (ids 1-32 of [A-Za-z0-9_-], secrets of 16 characters or more)`,
      );
      continue;
    }
    if (id === identityKey?.id || previousIdentityKeys.some((k) => k.id === id))
      r.problems.push(`NUNCHI_IDENTITY_PREVIOUS_KEYS names key id "${id}" twice (or the current key's id)`);
    else previousIdentityKeys.push({ id, secret: old });
  }
  return { identityKey, previousIdentityKeys };
}

/** The one place that reads the environment. Throws ConfigError listing every bad key. */
export function loadConfig(
  service: ServiceName,
  env: Record<string, string | undefined> = process.env,
): NunchiConfig {
  const r = new EnvReader(env);
  const upper = service.toUpperCase();
  // Development mode is said explicitly, never assumed from a missing NODE_ENV: an operator's shell sets nothing.
  const nodeEnv = r.optional('NODE_ENV');
  const devMode = r.bool('NUNCHI_DEV_MODE', nodeEnv === 'development' || nodeEnv === 'test');
  r.check('NUNCHI_DEV_MODE', !(devMode && nodeEnv === 'production'), 'cannot be on when NODE_ENV=production');
  const { identityKey, previousIdentityKeys } = readIdentityKeys(r, service, devMode);
  const timeZone = r.string('NUNCHI_TIMEZONE', 'Asia/Seoul');
  r.check('NUNCHI_TIMEZONE', isTimeZone(timeZone), `"${timeZone}" is not an IANA timezone`);
  const contactPoints = r
    .string('CASSANDRA_CONTACT_POINTS', '127.0.0.1:9042')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const keyspace = r.string('CASSANDRA_KEYSPACE', 'nunchi');
  const natsUrl = r.string('NATS_URL', DEFAULT_NATS_URL);
  for (const server of natsUrl.split(',')) {
    let ok = false;
    try {
      ok = ['nats:', 'tls:', 'ws:', 'wss:'].includes(new URL(server.trim()).protocol);
    } catch {
      ok = false;
    }
    r.check(
      'NATS_URL',
      ok,
      `"${server.trim()}" must be a nats://, tls://, ws:// or wss:// URL (several: comma-separated)`,
    );
  }
  r.check(
    'CASSANDRA_KEYSPACE',
    /^[a-z][a-z0-9_]{0,47}$/.test(keyspace),
    'must be a lower-case CQL identifier',
  );
  const natsAuth = readNatsAuth(r, natsIdentityOf(service), env);

  const config: NunchiConfig = {
    service,
    devMode,
    httpPort: r.int(`NUNCHI_${upper}_PORT`, DEFAULT_PORTS[service], 0, 65535),
    httpHost: r.string('NUNCHI_HTTP_HOST', '127.0.0.1'),
    httpTimeouts: {
      requestMs: r.int('NUNCHI_HTTP_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
      handlerMs: r.int('NUNCHI_HTTP_HANDLER_TIMEOUT_MS', 60_000, 100, 3_600_000),
      keepAliveMs: r.int('NUNCHI_HTTP_KEEP_ALIVE_MS', 30_000, 100, 600_000),
    },
    nats: {
      url: natsUrl,
      servers: natsUrl.split(',').map((s) => s.trim()),
      streamReplicas: r.int('NUNCHI_STREAM_REPLICAS', 1, 1, 5),
      partitions: r.int('NUNCHI_PARTITIONS', 16, 1, 1024),
      duplicateWindowMs: r.int('NUNCHI_DUPLICATE_WINDOW_MS', 120_000, 1_000, 86_400_000),
      leaseTtlMs: r.int('NUNCHI_LEASE_TTL_MS', 6_000, 1_000, 60_000),
      streamMaxBytes: {
        events: r.int('NUNCHI_STREAM_EVENTS_MAX_MIB', DEFAULT_STREAM_MAX_MIB.events, 1, 16_777_216) * MIB,
        enriched:
          r.int('NUNCHI_STREAM_ENRICHED_MAX_MIB', DEFAULT_STREAM_MAX_MIB.enriched, 1, 16_777_216) * MIB,
        decisions:
          r.int('NUNCHI_STREAM_DECISIONS_MAX_MIB', DEFAULT_STREAM_MAX_MIB.decisions, 1, 16_777_216) * MIB,
        dlq: r.int('NUNCHI_STREAM_DLQ_MAX_MIB', DEFAULT_STREAM_MAX_MIB.dlq, 1, 16_777_216) * MIB,
        leases: r.int('NUNCHI_STREAM_LEASES_MAX_MIB', DEFAULT_STREAM_MAX_MIB.leases, 1, 16_777_216) * MIB,
      },
      auth: natsAuth,
      inboxPrefix: natsAuth ? `_INBOX_${natsAuth.user}` : '_INBOX',
      tlsCaFile: r.optional('NATS_TLS_CA_FILE'),
    },
    cassandra: {
      contactPoints,
      localDataCenter: r.string('CASSANDRA_LOCAL_DC', 'datacenter1'),
      keyspace,
      replication: r.string('CASSANDRA_REPLICATION', "{'class': 'SimpleStrategy', 'replication_factor': 1}"),
      ...readCassandraAuth(r, service, devMode),
      tls: readCassandraTls(r),
      rolePasswordsDir: r.optional('CASSANDRA_ROLE_PASSWORDS_DIR'),
    },
    telemetry: {
      serviceName: r.string('OTEL_SERVICE_NAME', `nunchi-${service}`),
      exporter: r.oneOf('OTEL_TRACES_EXPORTER', 'zipkin', ['zipkin', 'otlp', 'console', 'none'] as const),
      zipkinEndpoint: r.url('OTEL_EXPORTER_ZIPKIN_ENDPOINT', 'http://127.0.0.1:9411/api/v2/spans', [
        'http:',
        'https:',
      ]),
      otlpEndpoint: r.url('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:4318', ['http:', 'https:']),
      maxQueueSize: r.int('NUNCHI_OTEL_MAX_QUEUE', 65_536, 128, 10_000_000),
      detail: r.oneOf('NUNCHI_TRACE_DETAIL', 'events', ['events', 'statements'] as const),
    },
    domain: {
      timeZone,
      identityKey,
      previousIdentityKeys,
      eventTtlDays: r.int('NUNCHI_EVENT_TTL_DAYS', 400, 1, 3650),
      slaMs: r.int('NUNCHI_SLA_MS', 2_000, 1, 600_000),
      maxOffersPerCustomerPerDay: r.int('NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY', 3, 0, 1000),
      contactPolicy: readContactPolicy(r),
      cacheMaxEntries: r.int('NUNCHI_CACHE_MAX_ENTRIES', 100_000, 0, 100_000_000),
      cacheMaxMiB: r.int('NUNCHI_CACHE_MAX_MIB', 512, 0, 1_048_576),
      preloadDays: r.int('NUNCHI_PRELOAD_DAYS', 7, 0, 31),
      identityCacheTtlMs: r.int('NUNCHI_IDENTITY_CACHE_TTL_MS', 5_000, 100, 600_000),
      unknownIdentifiers: r.oneOf('NUNCHI_UNKNOWN_IDENTIFIERS', 'create', ['create', 'refuse'] as const),
      admissionMaxLagMs: r.int('NUNCHI_ADMISSION_MAX_LAG_MS', 1_000, 0, 600_000),
      analyticsYieldMaxMs: r.int('NUNCHI_ANALYTICS_YIELD_MAX_MS', 1_000, 0, 60_000),
      simulationYieldLagMs: r.int('NUNCHI_SIMULATION_YIELD_LAG_MS', 100, 0, 600_000),
      adapterRatePerSecond: r.int('NUNCHI_ADAPTER_RATE_PER_SECOND', 2_000, 0, MAX_ADAPTER_RATE),
      adapterRates: readAdapterRates(r),
      ledgerCacheMaxEntries: r.int('NUNCHI_LEDGER_CACHE_MAX_ENTRIES', 200_000, 0, 100_000_000),
      ledgerCacheMaxMiB: r.int('NUNCHI_LEDGER_CACHE_MAX_MIB', 128, 0, 1_048_576),
      dataKeyCacheMaxEntries: r.int('NUNCHI_DATA_KEY_CACHE_MAX_ENTRIES', 200_000, 0, 100_000_000),
    },
    console: {
      traceUrl: r.url('NUNCHI_TRACE_URL', 'http://127.0.0.1:9411/zipkin/traces/{traceId}', [
        'http:',
        'https:',
      ]),
      // By default the services of this machine, on the ports they are given (tests and the demo move them).
      contextUrl: r.url(
        'NUNCHI_CONTEXT_URL',
        `http://127.0.0.1:${r.int('NUNCHI_CONTEXT_PORT', DEFAULT_PORTS.context, 0, 65535)}`,
        ['http:', 'https:'],
      ),
      decisionUrl: r.url(
        'NUNCHI_DECISION_URL',
        `http://127.0.0.1:${r.int('NUNCHI_DECISION_PORT', DEFAULT_PORTS.decision, 0, 65535)}`,
        ['http:', 'https:'],
      ),
    },
    auth: readAuth(r),
  };
  // An erasure answers no sooner than the identity cache TTL (README, "Who an event is for"): leave it room.
  r.check(
    'NUNCHI_HTTP_HANDLER_TIMEOUT_MS',
    config.httpTimeouts.handlerMs > config.domain.identityCacheTtlMs + 10_000,
    `must exceed NUNCHI_IDENTITY_CACHE_TTL_MS + 10000 (${config.domain.identityCacheTtlMs + 10_000}): an erasure waits that long before it answers`,
  );
  const failpoint = r.optional('NUNCHI_FAILPOINT');
  if (failpoint !== undefined) {
    const [point, eventId] = failpoint.split('=', 2);
    if (!FAILPOINTS.includes(point as Failpoint['point']) || !eventId)
      r.problems.push(
        `NUNCHI_FAILPOINT="${failpoint}" must be <point>=<event id>, point one of ${FAILPOINTS.join(', ')}`,
      );
    else config.failpoint = { point: point as Failpoint['point'], eventId };
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

function readAuth(r: EnvReader): AuthConfig {
  const issuer = r.optional('NUNCHI_OIDC_ISSUER');
  const audience = r.optional('NUNCHI_OIDC_AUDIENCE');
  const jwks = r.optional('NUNCHI_OIDC_JWKS');
  const given = [issuer, audience, jwks].filter((v) => v !== undefined).length;
  r.check(
    'NUNCHI_OIDC_ISSUER',
    given === 0 || given === 3,
    'NUNCHI_OIDC_ISSUER, NUNCHI_OIDC_AUDIENCE and NUNCHI_OIDC_JWKS go together: set all three or none',
  );
  return {
    cacheTtlMs: r.int('NUNCHI_AUTH_CACHE_TTL_MS', 30_000, 0, 3_600_000),
    metricsPublic: r.bool('NUNCHI_METRICS_PUBLIC', true),
    tokenRatePerSecond: r.int('NUNCHI_TOKEN_RATE_PER_SECOND', 50, 1, 1_000_000),
    cliApiKey: r.optional('NUNCHI_API_KEY'),
    cliApiUrl: r.optionalUrl('NUNCHI_API_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    oidc:
      issuer && audience && jwks
        ? { issuer, audience, jwks, rolesClaim: r.string('NUNCHI_OIDC_ROLES_CLAIM', 'roles') }
        : undefined,
  };
}

/** CASSANDRA_USERNAME with CASSANDRA_PASSWORD or CASSANDRA_PASSWORD_FILE (a mounted secret), or nothing. */
function readCassandraAuth(
  r: EnvReader,
  service: ServiceName,
  devMode: boolean,
): { username?: string; password?: string; localAuthDir?: string } {
  const username = r.optional('CASSANDRA_USERNAME');
  let password = r.optional('CASSANDRA_PASSWORD');
  const file = r.optional('CASSANDRA_PASSWORD_FILE');
  if (username === undefined && password === undefined && file === undefined) {
    // The local node's passwords (scripts/infra.mjs writes them): named explicitly, or this checkout's in
    // development mode. This process's own role only; nothing found: no credentials.
    const named = r.optional('CASSANDRA_AUTH_DIR');
    if (turnedOff(named)) return {};
    const dir = named ?? (devMode ? projectPath('.nunchi', 'cassandra-auth') : undefined);
    const role = CASSANDRA_SERVICE_ROLES[service];
    if (dir && existsSync(join(dir, role)))
      return { username: role, password: readFileSync(join(dir, role), 'utf8').trim(), localAuthDir: dir };
    return {};
  }
  if (file !== undefined) {
    try {
      password = readFileSync(file, 'utf8').trim();
    } catch (error) {
      r.problems.push(`CASSANDRA_PASSWORD_FILE="${file}" cannot be read: ${(error as Error).message}`);
      return {};
    }
  }
  if (username === undefined) {
    if (password !== undefined)
      r.problems.push('CASSANDRA_PASSWORD (or CASSANDRA_PASSWORD_FILE) is set without CASSANDRA_USERNAME');
    return {};
  }
  if (!password) {
    r.problems.push('CASSANDRA_USERNAME is set without CASSANDRA_PASSWORD or CASSANDRA_PASSWORD_FILE');
    return {};
  }
  return { username, password };
}

/** TLS when CASSANDRA_TLS is on or a CA file is given; a client certificate needs its key and the other way round. */
function readCassandraTls(r: EnvReader): CassandraTls | undefined {
  const caFile = r.optional('CASSANDRA_TLS_CA_FILE');
  const certFile = r.optional('CASSANDRA_TLS_CERT_FILE');
  const keyFile = r.optional('CASSANDRA_TLS_KEY_FILE');
  const on = r.bool('CASSANDRA_TLS', caFile !== undefined || certFile !== undefined);
  const verifyHostname = r.bool('CASSANDRA_TLS_VERIFY_HOSTNAME', true);
  if (!on) {
    if (caFile || certFile || keyFile)
      r.problems.push('CASSANDRA_TLS_*_FILE is set while CASSANDRA_TLS is off: turn TLS on or unset them');
    return undefined;
  }
  r.check(
    'CASSANDRA_TLS_CERT_FILE',
    (certFile === undefined) === (keyFile === undefined),
    'and CASSANDRA_TLS_KEY_FILE go together: a client certificate needs its key',
  );
  for (const [key, file] of [
    ['CASSANDRA_TLS_CA_FILE', caFile],
    ['CASSANDRA_TLS_CERT_FILE', certFile],
    ['CASSANDRA_TLS_KEY_FILE', keyFile],
  ] as const)
    if (file !== undefined)
      try {
        readFileSync(file);
      } catch (error) {
        r.problems.push(`${key}="${file}" cannot be read: ${(error as Error).message}`);
      }
  return { caFile, certFile, keyFile, verifyHostname };
}

/**
 * The server `npm run infra:up` starts with the project's identities (port 14222: the machine's own NATS, if
 * any, keeps 4222 and knows nothing of them).
 */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:14222';

/** An nkey user seed: `SU` and 56 more base32 characters (the checksum is checked on connecting). */
const NKEY_USER_SEED = /^SU[A-Z2-7]{56}$/;

/**
 * This process's NATS identity: NATS_USER with NATS_NKEY_SEED or NATS_NKEY_SEED_FILE (an nkey: what the
 * project's own servers use), or with NATS_PASSWORD or NATS_PASSWORD_FILE (a mounted secret). With none of
 * them, the seed of this process's own identity in the local auth directory (`natsAuthDir`: where
 * `npm run infra:up`, `npm start`, the demo and the tests generate them), if there is one; else nothing (a
 * server without accounts).
 */
function readNatsAuth(
  r: EnvReader,
  identity: string,
  env: Record<string, string | undefined>,
): NatsAuth | undefined {
  let user = r.optional('NATS_USER');
  let password = r.optional('NATS_PASSWORD');
  const passwordFile = r.optional('NATS_PASSWORD_FILE');
  let seed = r.optional('NATS_NKEY_SEED');
  let seedFile = r.optional('NATS_NKEY_SEED_FILE');
  let from = seedFile ? `NATS_NKEY_SEED_FILE=${seedFile}` : 'NATS_NKEY_SEED';
  if ((seed || seedFile) && (password || passwordFile)) {
    r.problems.push('NATS_NKEY_SEED(_FILE) and NATS_PASSWORD(_FILE) are both set: give one identity one way');
    return undefined;
  }
  if (!user && !seed && !seedFile && !password && !passwordFile) {
    const dir = natsAuthDir(env);
    if (!dir || !existsSync(natsSeedFile(dir, identity))) return undefined;
    user = identity;
    seedFile = natsSeedFile(dir, identity);
    from = `${seedFile} (the local identities of NUNCHI_NATS_AUTH_DIR)`;
  }
  const readFile = (key: string, file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      r.problems.push(`${key}="${file}" cannot be read: ${(error as Error).message}`);
      return undefined;
    }
  };
  if (seedFile !== undefined) {
    seed = readFile('NATS_NKEY_SEED_FILE', seedFile);
    if (seed === undefined) return undefined;
  }
  if (passwordFile !== undefined) {
    password = readFile('NATS_PASSWORD_FILE', passwordFile);
    if (password === undefined) return undefined;
  }
  if (user === undefined) {
    if (seed !== undefined || password !== undefined)
      r.problems.push(
        `${seed !== undefined ? 'NATS_NKEY_SEED (or NATS_NKEY_SEED_FILE)' : 'NATS_PASSWORD (or NATS_PASSWORD_FILE)'} is set without NATS_USER (the identity's name: ingestion, context, decision, analytics, operator, adapter-<channel>)`,
      );
    return undefined;
  }
  r.check(
    'NATS_USER',
    /^[A-Za-z0-9_-]{1,64}$/.test(user),
    'must be 1-64 of [A-Za-z0-9_-] (it names the reply subjects)',
  );
  if (seed !== undefined) {
    if (!NKEY_USER_SEED.test(seed)) {
      r.problems.push(
        `${from} is not an nkey user seed (SU followed by 56 base32 characters); the local ones are written by \`npm run nats:config\` (or infra:up) into .nunchi/nats-auth/<identity>.nk`,
      );
      return undefined;
    }
    return { user, seed, from };
  }
  if (!password) {
    r.problems.push('NATS_USER is set without NATS_NKEY_SEED(_FILE) or NATS_PASSWORD(_FILE)');
    return undefined;
  }
  return { user, password };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Every environment variable Nunchi reads, with its default: the README's table is generated from this. */
export const ENVIRONMENT_VARIABLES: Array<{ name: string; default: string; meaning: string }> = [
  {
    name: 'NATS_URL',
    default: DEFAULT_NATS_URL,
    meaning: 'NATS server(s) with JetStream, comma-separated',
  },
  {
    name: 'NUNCHI_STREAM_REPLICAS',
    default: '1',
    meaning: 'replicas of each JetStream stream (3 on a NATS cluster)',
  },
  {
    name: 'NUNCHI_PARTITIONS',
    default: '16',
    meaning: 'customer partitions of EVENTS/ENRICHED (fixed when streams are created)',
  },
  { name: 'NUNCHI_DUPLICATE_WINDOW_MS', default: '120000', meaning: 'JetStream duplicate window, ms' },
  {
    name: 'NATS_USER',
    default: '(none)',
    meaning:
      "this process's NATS identity (one per service, adapter and the operator: `npm run nats:config`, docs/security.md), with NATS_NKEY_SEED(_FILE) or NATS_PASSWORD(_FILE); none: its own seed in NUNCHI_NATS_AUTH_DIR if there, else no credentials",
  },
  {
    name: 'NATS_NKEY_SEED / NATS_NKEY_SEED_FILE',
    default: '(none)',
    meaning: "the identity's nkey seed (SU…), or a file holding it (a mounted secret)",
  },
  {
    name: 'NUNCHI_NATS_AUTH_DIR',
    default: '.nunchi/nats-auth',
    meaning:
      "the local identities' seeds (<identity>.nk) and nats.conf, generated by infra:up, npm start, the demo and the tests; a process with no NATS credentials of its own uses its identity's seed from there; off: never",
  },
  {
    name: 'NATS_PASSWORD / NATS_PASSWORD_FILE',
    default: '(none)',
    meaning: "the identity's password instead of an nkey (a server configured with passwords)",
  },
  {
    name: 'NATS_TLS_CA_FILE',
    default: '(none)',
    meaning: "PEM CA of the NATS server's certificate: connect with TLS (tls:// URLs)",
  },
  {
    name: 'NUNCHI_STREAM_EVENTS_MAX_MIB',
    default: '4096',
    meaning:
      'byte limit of EVENTS, MiB (reserved by JetStream; when full, new events are refused with UNAVAILABLE_RETRY): size it for 7 days at the peak rate',
  },
  {
    name: 'NUNCHI_STREAM_ENRICHED_MAX_MIB',
    default: '2048',
    meaning:
      'byte limit of ENRICHED, MiB (when full, context retries; nothing is dropped): one day at the peak rate',
  },
  {
    name: 'NUNCHI_STREAM_DECISIONS_MAX_MIB',
    default: '1024',
    meaning: 'byte limit of DECISIONS, MiB (when full, the oldest go)',
  },
  {
    name: 'NUNCHI_STREAM_DLQ_MAX_MIB',
    default: '256',
    meaning: 'byte limit of DLQ, MiB (when full, the oldest rejected input goes)',
  },
  { name: 'NUNCHI_STREAM_LEASES_MAX_MIB', default: '16', meaning: 'byte limit of LEASES, MiB' },
  {
    name: 'NUNCHI_HTTP_REQUEST_TIMEOUT_MS',
    default: '10000',
    meaning: 'HTTP: time to receive a whole request, ms (408 after)',
  },
  {
    name: 'NUNCHI_HTTP_HANDLER_TIMEOUT_MS',
    default: '60000',
    meaning:
      'HTTP: time to answer a received request, ms (503 after); more than NUNCHI_IDENTITY_CACHE_TTL_MS + 10000',
  },
  {
    name: 'NUNCHI_HTTP_KEEP_ALIVE_MS',
    default: '30000',
    meaning: 'HTTP: an idle kept-alive connection is closed after this, ms',
  },
  {
    name: 'NUNCHI_LEASE_TTL_MS',
    default: '6000',
    meaning: "partition lease lifetime, ms: a dead replica's partitions move after ~1.25× this",
  },
  {
    name: 'CASSANDRA_CONTACT_POINTS',
    default: '127.0.0.1:9042',
    meaning: 'comma-separated host:port; set it to use an existing cluster (infra:up then starts none)',
  },
  { name: 'CASSANDRA_LOCAL_DC', default: 'datacenter1', meaning: 'local data centre for the driver' },
  { name: 'CASSANDRA_KEYSPACE', default: 'nunchi', meaning: 'keyspace' },
  {
    name: 'CASSANDRA_REPLICATION',
    default: "{'class': 'SimpleStrategy', 'replication_factor': 1}",
    meaning: 'replication map used when migrations create the keyspace',
  },
  {
    name: 'CASSANDRA_USERNAME / CASSANDRA_PASSWORD',
    default: '(none)',
    meaning:
      "this process's Cassandra role (one per service, least privilege: docs/security.md); none: a node without authentication",
  },
  {
    name: 'CASSANDRA_PASSWORD_FILE',
    default: '(none)',
    meaning: 'read CASSANDRA_PASSWORD from this file (a mounted secret)',
  },
  {
    name: 'CASSANDRA_TLS',
    default: 'on when a CASSANDRA_TLS_*_FILE is set, else off',
    meaning: 'connect to Cassandra with TLS',
  },
  {
    name: 'CASSANDRA_TLS_CA_FILE',
    default: "(none: the system's CAs)",
    meaning: "PEM CA of the Cassandra nodes' certificates (the local node's: .nunchi/cassandra/tls/ca.crt)",
  },
  {
    name: 'CASSANDRA_TLS_CERT_FILE / CASSANDRA_TLS_KEY_FILE',
    default: '(none)',
    meaning: 'PEM client certificate and key, for nodes that require one',
  },
  {
    name: 'CASSANDRA_TLS_VERIFY_HOSTNAME',
    default: 'true',
    meaning: "check that a node's certificate names its address (false only for certificates without it)",
  },
  {
    name: 'CASSANDRA_AUTH_DIR',
    default: '.nunchi/cassandra-auth in development mode, else (none)',
    meaning:
      "without CASSANDRA_USERNAME: the local node's role passwords (scripts/infra.mjs); each process logs in as its own role from there, `nunchi migrate` as the migrator; `off`: no credentials (a node without authentication, such as the three-host cluster's)",
  },
  {
    name: 'CASSANDRA_ROLE_PASSWORDS_DIR',
    default: '(none)',
    meaning:
      '`nunchi migrate`: a file per service role (named after it) with its password; the migration creates the roles, sets or rotates their passwords and grants their tables',
  },
  {
    name: 'NUNCHI_<SERVICE>_PORT',
    default: 'ingestion 3001, context 3002, decision 3003, analytics 3004',
    meaning: 'HTTP port of each service',
  },
  { name: 'NUNCHI_HTTP_HOST', default: '127.0.0.1', meaning: 'HTTP bind address (0.0.0.0 in Kubernetes)' },
  {
    name: 'NUNCHI_TIMEZONE',
    default: 'Asia/Seoul',
    meaning: 'business timezone: local days for rollups and caps',
  },
  {
    name: 'NUNCHI_DEV_MODE',
    default: 'on when NODE_ENV=development or test, else off',
    meaning:
      'development mode: the public development key stands in for a missing NUNCHI_IDENTITY_SECRET (npm start, npm run demo and the tests turn it on)',
  },
  {
    name: 'NUNCHI_AUTH_CACHE_TTL_MS',
    default: '30000',
    meaning:
      'how long a service trusts an API key it verified (or found unknown) before reading Cassandra again, ms: a revocation takes this long',
  },
  {
    name: 'NUNCHI_METRICS_PUBLIC',
    default: 'true',
    meaning:
      '/metrics answers without credentials; false: it needs the metrics.read permission (operator, admin)',
  },
  {
    name: 'NUNCHI_TOKEN_RATE_PER_SECOND',
    default: '50',
    meaning:
      "requests per second per person's bearer token, per replica (429 past it); API keys carry their own rate",
  },
  {
    name: 'NUNCHI_API_KEY',
    default: '(none: the OS user, unverified)',
    meaning:
      "the CLI's own API key: its changes are audited as that key's (verified against the key store) and its role must allow them",
  },
  {
    name: 'NUNCHI_API_URL',
    default: '(none: the CLI reads and writes Cassandra)',
    meaning:
      "the analytics service's base URL: `nunchi keys`, `nunchi audit`, `nunchi stats` and `nunchi campaigns` list/show/history/diff/draft/discard/validate/activate/pause/resume/end/archive/rollback go over its HTTP API with NUNCHI_API_KEY, without the database's credentials",
  },
  {
    name: 'NUNCHI_OIDC_ISSUER / NUNCHI_OIDC_AUDIENCE',
    default: '(none: API keys only)',
    meaning: "people's bearer tokens (JWT, RS256/ES256/EdDSA): the iss and an aud they must carry",
  },
  {
    name: 'NUNCHI_OIDC_JWKS',
    default: '(none)',
    meaning:
      "the OIDC provider's signing keys: its JWKS URL (https://…/jwks.json, cached 10 min) or a JWKS file",
  },
  {
    name: 'NUNCHI_OIDC_ROLES_CLAIM',
    default: 'roles',
    meaning: "the token claim that lists the person's Nunchi roles",
  },
  {
    name: 'NUNCHI_IDENTITY_SECRET',
    default: '(none; the public development key in development mode)',
    meaning:
      'key of identities: HMAC of every identifier (card, phone, e-mail, device id), seals personal data in the DLQ; ingestion will not start without it',
  },
  {
    name: 'NUNCHI_IDENTITY_KEY_ID',
    default: 'k1',
    meaning:
      'the id of NUNCHI_IDENTITY_SECRET, kept with what it seals; change it with the secret (rotation: docs/security.md)',
  },
  {
    name: 'NUNCHI_IDENTITY_PREVIOUS_KEYS',
    default: '(none)',
    meaning: 'keys retired by a rotation, still read: <key id>:<secret>, comma-separated',
  },
  { name: 'NUNCHI_EVENT_TTL_DAYS', default: '400', meaning: 'event history retention, days' },
  {
    name: 'NUNCHI_SLA_MS',
    default: '2000',
    meaning: 'event-to-offer deadline; later decisions are recorded as late, no offer sent',
  },
  { name: 'NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY', default: '3', meaning: 'global contact policy' },
  {
    name: 'NUNCHI_CONSENT_OPT_IN_CHANNELS',
    default: '(none)',
    meaning:
      "channels where an offer needs the customer's explicit marketing consent, comma-separated (e.g. `app,web`); elsewhere only a refusal stops offers",
  },
  {
    name: 'NUNCHI_QUIET_HOURS',
    default: '(none)',
    meaning: 'no offers on a channel at these local hours: `app=21:00-08:00,web=21:00-08:00`',
  },
  {
    name: 'NUNCHI_CACHE_MAX_ENTRIES',
    default: '100000',
    meaning: 'hot-tier size of the context service, customers',
  },
  {
    name: 'NUNCHI_CACHE_MAX_MIB',
    default: '512',
    meaning: 'hot-tier size of the context service, MiB (estimated heap)',
  },
  {
    name: 'NUNCHI_PRELOAD_DAYS',
    default: '7',
    meaning:
      'warm-up for the customers active in the last this many days (0–31), in the background: a context replica gaining a partition (at start, or taking one over) loads that partition’s into its hot tier while it has room, a decision replica gaining one reads their data keys and contact ledgers, and ingestion and analytics read the data keys of every partition’s at start; `0`: off',
  },
  {
    name: 'NUNCHI_IDENTITY_CACHE_TTL_MS',
    default: '5000',
    meaning:
      'ingestion reads the erasure and identifier-change logs every half of this, ms; erasure and identifier moves take at least this long',
  },
  {
    name: 'NUNCHI_UNKNOWN_IDENTIFIERS',
    default: 'create',
    meaning:
      'create | refuse: an identifier no customer has creates an anonymous customer, or is refused with UNKNOWN_CUSTOMER',
  },
  {
    name: 'NUNCHI_ADMISSION_MAX_LAG_MS',
    default: '1000',
    meaning:
      'ingestion refuses events of a partition whose consumers are this far behind, ms (OVERLOADED_RETRY), and a share of them past half of it; 0: never',
  },
  {
    name: 'NUNCHI_ANALYTICS_YIELD_MAX_MS',
    default: '1000',
    meaning:
      'while the hot path is behind (past half of NUNCHI_ADMISSION_MAX_LAG_MS), each analytics handler waits up to this for it, ms; 0: never',
  },
  {
    name: 'NUNCHI_SIMULATION_YIELD_LAG_MS',
    default: '100',
    meaning:
      'a simulation on history pauses (up to 5 s at a time, then one step every 5 s; as long as it lasts past half of NUNCHI_ADMISSION_MAX_LAG_MS or of NUNCHI_SLA_MS) while a context or decision consumer holds a message older than this, and until no lag report of the last 10 s was past it, ms; 0: never',
  },
  {
    name: 'NUNCHI_ADAPTER_RATE_PER_SECOND',
    default: '2000',
    meaning:
      "events per second per channel's adapters through the NATS door, all ingestion replicas together (RATE_LIMITED past it); 0: no limit",
  },
  {
    name: 'NUNCHI_ADAPTER_RATES',
    default: '(none)',
    meaning: 'channels with a rate of their own: `pos=5000,web=500` (events per second; 0: no limit)',
  },
  {
    name: 'NUNCHI_LEDGER_CACHE_MAX_ENTRIES',
    default: '200000',
    meaning: 'contact ledgers the decision service caches, customers (0: none)',
  },
  {
    name: 'NUNCHI_LEDGER_CACHE_MAX_MIB',
    default: '128',
    meaning: 'contact ledgers the decision service caches, MiB (estimated heap)',
  },
  {
    name: 'NUNCHI_DATA_KEY_CACHE_MAX_ENTRIES',
    default: '200000',
    meaning: "customers' data keys (crypto-shredding) context and decision cache, customers (0: none)",
  },
  {
    name: 'NUNCHI_TRACE_URL',
    default: 'http://127.0.0.1:9411/zipkin/traces/{traceId}',
    meaning: "analytics (console): a decision's trace in the trace backend, `{traceId}` replaced",
  },
  {
    name: 'NUNCHI_CONTEXT_URL / NUNCHI_DECISION_URL',
    default: 'http://127.0.0.1:<NUNCHI_CONTEXT_PORT / NUNCHI_DECISION_PORT>',
    meaning:
      "analytics (console): where it reads a customer's context, and event → offer latency from /metrics",
  },
  { name: 'OTEL_TRACES_EXPORTER', default: 'zipkin', meaning: 'zipkin | otlp | console | none' },
  {
    name: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT',
    default: 'http://127.0.0.1:9411/api/v2/spans',
    meaning: 'Zipkin span endpoint',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: 'http://127.0.0.1:4318',
    meaning: 'OTLP/HTTP collector (traces go to /v1/traces)',
  },
  { name: 'OTEL_SERVICE_NAME', default: 'nunchi-<service>', meaning: 'service name on spans' },
  {
    name: 'NUNCHI_FAILPOINT',
    default: '(none)',
    meaning:
      'crash tests only: `context.after-write=<event id>` kills the context service after that event is stored, before it is acknowledged',
  },
  {
    name: 'NUNCHI_OTEL_MAX_QUEUE',
    default: '65536',
    meaning: 'span export queue; the SDK default 2048 drops spans in bursts',
  },
  {
    name: 'NUNCHI_TRACE_DETAIL',
    default: 'events',
    meaning: 'events: ~6 spans per event across services; statements: also one span per Cassandra statement',
  },
  {
    name: 'OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG',
    default: 'parentbased_always_on',
    meaning: 'standard OpenTelemetry sampler, e.g. parentbased_traceidratio and 0.01 (read by the SDK)',
  },
];
