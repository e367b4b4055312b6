import { EnvReader } from './env-reader.js';

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
}

export interface CassandraConfig {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  /** CQL replication map used when the migration creates the keyspace */
  replication: string;
  username?: string;
  password?: string;
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
  /** HMAC key for phone and email identities; never logged */
  identitySecret: string;
  /** days an event is kept in customer_events */
  eventTtlDays: number;
  /** milliseconds from receipt within which an offer must reach the channel, else recorded as late */
  slaMs: number;
  /** offers per customer per local day across all campaigns */
  maxOffersPerCustomerPerDay: number;
  /** hot-tier size, customers */
  cacheMaxEntries: number;
  /** hot-tier size, MiB of estimated heap (a customer with a year of varied activity takes ~20–40 KiB) */
  cacheMaxMiB: number;
  /**
   * milliseconds: ingestion replicas read the erasure and identifier-change logs every half of this (and trust
   * a cached entry only this long while they cannot); erasure and identifier moves return no sooner than this
   * after their change is written, so that no replica still answers from before the change
   */
  identityCacheTtlMs: number;
  /** what ingestion does with an identifier no customer has: create an anonymous customer, or refuse the event */
  unknownIdentifiers: 'create' | 'refuse';
  /** contact ledgers the decision service keeps, customers (0: none, every decision with candidates reads) */
  /**
   * milliseconds: while a partition's context or decision consumer holds a message older than this, ingestion
   * refuses new events of that partition with OVERLOADED_RETRY (0: never)
   */
  admissionMaxLagMs: number;
  ledgerCacheMaxEntries: number;
  /** contact ledgers the decision service keeps, MiB of estimated heap (a ledger takes ~0.3–2 KiB) */
  ledgerCacheMaxMiB: number;
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

export interface NunchiConfig {
  service: ServiceName;
  /** HTTP port of this service */
  httpPort: number;
  httpHost: string;
  nats: NatsConfig;
  cassandra: CassandraConfig;
  telemetry: TelemetryConfig;
  domain: DomainConfig;
  console: ConsoleConfig;
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

const DEV_IDENTITY_SECRET = 'nunchi-dev-only-identity-secret';

/** The one place that reads the environment. Throws ConfigError listing every bad key. */
export function loadConfig(service: ServiceName, env: Record<string, string | undefined> = process.env): NunchiConfig {
  const r = new EnvReader(env);
  const upper = service.toUpperCase();
  const production = r.string('NODE_ENV', 'development') === 'production';
  const identitySecret = r.string('NUNCHI_IDENTITY_SECRET', production ? '' : DEV_IDENTITY_SECRET);
  r.check('NUNCHI_IDENTITY_SECRET', identitySecret.length >= 16, 'must be at least 16 characters (required when NODE_ENV=production)');
  const timeZone = r.string('NUNCHI_TIMEZONE', 'Asia/Seoul');
  r.check('NUNCHI_TIMEZONE', isTimeZone(timeZone), `"${timeZone}" is not an IANA timezone`);
  const contactPoints = r
    .string('CASSANDRA_CONTACT_POINTS', '127.0.0.1:9042')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const keyspace = r.string('CASSANDRA_KEYSPACE', 'nunchi');
  const natsUrl = r.string('NATS_URL', 'nats://127.0.0.1:4222');
  for (const server of natsUrl.split(',')) {
    let ok = false;
    try {
      ok = ['nats:', 'tls:', 'ws:', 'wss:'].includes(new URL(server.trim()).protocol);
    } catch {
      ok = false;
    }
    r.check('NATS_URL', ok, `"${server.trim()}" must be a nats://, tls://, ws:// or wss:// URL (several: comma-separated)`);
  }
  r.check('CASSANDRA_KEYSPACE', /^[a-z][a-z0-9_]{0,47}$/.test(keyspace), 'must be a lower-case CQL identifier');

  const config: NunchiConfig = {
    service,
    httpPort: r.int(`NUNCHI_${upper}_PORT`, DEFAULT_PORTS[service], 0, 65535),
    httpHost: r.string('NUNCHI_HTTP_HOST', '127.0.0.1'),
    nats: {
      url: natsUrl,
      servers: natsUrl.split(',').map((s) => s.trim()),
      streamReplicas: r.int('NUNCHI_STREAM_REPLICAS', 1, 1, 5),
      partitions: r.int('NUNCHI_PARTITIONS', 16, 1, 1024),
      duplicateWindowMs: r.int('NUNCHI_DUPLICATE_WINDOW_MS', 120_000, 1_000, 86_400_000),
      leaseTtlMs: r.int('NUNCHI_LEASE_TTL_MS', 6_000, 1_000, 60_000),
    },
    cassandra: {
      contactPoints,
      localDataCenter: r.string('CASSANDRA_LOCAL_DC', 'datacenter1'),
      keyspace,
      replication: r.string('CASSANDRA_REPLICATION', "{'class': 'SimpleStrategy', 'replication_factor': 1}"),
      username: r.optional('CASSANDRA_USERNAME'),
      password: r.optional('CASSANDRA_PASSWORD'),
    },
    telemetry: {
      serviceName: r.string('OTEL_SERVICE_NAME', `nunchi-${service}`),
      exporter: r.oneOf('OTEL_TRACES_EXPORTER', 'zipkin', ['zipkin', 'otlp', 'console', 'none'] as const),
      zipkinEndpoint: r.url('OTEL_EXPORTER_ZIPKIN_ENDPOINT', 'http://127.0.0.1:9411/api/v2/spans', ['http:', 'https:']),
      otlpEndpoint: r.url('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:4318', ['http:', 'https:']),
      maxQueueSize: r.int('NUNCHI_OTEL_MAX_QUEUE', 65_536, 128, 10_000_000),
      detail: r.oneOf('NUNCHI_TRACE_DETAIL', 'events', ['events', 'statements'] as const),
    },
    domain: {
      timeZone,
      identitySecret,
      eventTtlDays: r.int('NUNCHI_EVENT_TTL_DAYS', 400, 1, 3650),
      slaMs: r.int('NUNCHI_SLA_MS', 2_000, 1, 600_000),
      maxOffersPerCustomerPerDay: r.int('NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY', 3, 0, 1000),
      cacheMaxEntries: r.int('NUNCHI_CACHE_MAX_ENTRIES', 100_000, 0, 100_000_000),
      cacheMaxMiB: r.int('NUNCHI_CACHE_MAX_MIB', 512, 0, 1_048_576),
      identityCacheTtlMs: r.int('NUNCHI_IDENTITY_CACHE_TTL_MS', 5_000, 100, 600_000),
      unknownIdentifiers: r.oneOf('NUNCHI_UNKNOWN_IDENTIFIERS', 'create', ['create', 'refuse'] as const),
      admissionMaxLagMs: r.int('NUNCHI_ADMISSION_MAX_LAG_MS', 1_000, 0, 600_000),
      ledgerCacheMaxEntries: r.int('NUNCHI_LEDGER_CACHE_MAX_ENTRIES', 200_000, 0, 100_000_000),
      ledgerCacheMaxMiB: r.int('NUNCHI_LEDGER_CACHE_MAX_MIB', 128, 0, 1_048_576),
    },
    console: {
      traceUrl: r.url('NUNCHI_TRACE_URL', 'http://127.0.0.1:9411/zipkin/traces/{traceId}', ['http:', 'https:']),
      // By default the services of this machine, on the ports they are given (tests and the demo move them).
      contextUrl: r.url('NUNCHI_CONTEXT_URL', `http://127.0.0.1:${r.int('NUNCHI_CONTEXT_PORT', DEFAULT_PORTS.context, 0, 65535)}`, ['http:', 'https:']),
      decisionUrl: r.url('NUNCHI_DECISION_URL', `http://127.0.0.1:${r.int('NUNCHI_DECISION_PORT', DEFAULT_PORTS.decision, 0, 65535)}`, ['http:', 'https:']),
    },
  };
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
  { name: 'NATS_URL', default: 'nats://127.0.0.1:4222', meaning: 'NATS server(s) with JetStream, comma-separated' },
  { name: 'NUNCHI_STREAM_REPLICAS', default: '1', meaning: 'replicas of each JetStream stream (3 on a NATS cluster)' },
  { name: 'NUNCHI_PARTITIONS', default: '16', meaning: 'customer partitions of EVENTS/ENRICHED (fixed when streams are created)' },
  { name: 'NUNCHI_DUPLICATE_WINDOW_MS', default: '120000', meaning: 'JetStream duplicate window, ms' },
  { name: 'NUNCHI_LEASE_TTL_MS', default: '6000', meaning: "partition lease lifetime, ms: a dead replica's partitions move after ~1.25× this" },
  { name: 'CASSANDRA_CONTACT_POINTS', default: '127.0.0.1:9042', meaning: 'comma-separated host:port; set it to use an existing cluster (infra:up then starts none)' },
  { name: 'CASSANDRA_LOCAL_DC', default: 'datacenter1', meaning: 'local data centre for the driver' },
  { name: 'CASSANDRA_KEYSPACE', default: 'nunchi', meaning: 'keyspace' },
  { name: 'CASSANDRA_REPLICATION', default: "{'class': 'SimpleStrategy', 'replication_factor': 1}", meaning: 'replication map used when migrations create the keyspace' },
  { name: 'CASSANDRA_USERNAME / CASSANDRA_PASSWORD', default: '(none)', meaning: 'plain-text auth' },
  { name: 'NUNCHI_<SERVICE>_PORT', default: 'ingestion 3001, context 3002, decision 3003, analytics 3004', meaning: 'HTTP port of each service' },
  { name: 'NUNCHI_HTTP_HOST', default: '127.0.0.1', meaning: 'HTTP bind address (0.0.0.0 in Kubernetes)' },
  { name: 'NUNCHI_TIMEZONE', default: 'Asia/Seoul', meaning: 'business timezone: local days for rollups and caps' },
  { name: 'NUNCHI_IDENTITY_SECRET', default: '(dev secret; required in production)', meaning: 'HMAC key for phone/email identities' },
  { name: 'NUNCHI_EVENT_TTL_DAYS', default: '400', meaning: 'event history retention, days' },
  { name: 'NUNCHI_SLA_MS', default: '2000', meaning: 'event-to-offer deadline; later decisions are recorded as late, no offer sent' },
  { name: 'NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY', default: '3', meaning: 'global contact policy' },
  { name: 'NUNCHI_CACHE_MAX_ENTRIES', default: '100000', meaning: 'hot-tier size of the context service, customers' },
  { name: 'NUNCHI_CACHE_MAX_MIB', default: '512', meaning: 'hot-tier size of the context service, MiB (estimated heap)' },
  { name: 'NUNCHI_IDENTITY_CACHE_TTL_MS', default: '5000', meaning: 'ingestion reads the erasure and identifier-change logs every half of this, ms; erasure and identifier moves take at least this long' },
  { name: 'NUNCHI_UNKNOWN_IDENTIFIERS', default: 'create', meaning: 'create | refuse: an identifier no customer has creates an anonymous customer, or is refused with UNKNOWN_CUSTOMER' },
  { name: 'NUNCHI_ADMISSION_MAX_LAG_MS', default: '1000', meaning: 'ingestion refuses events of a partition whose consumers are this far behind, ms (OVERLOADED_RETRY); 0: never' },
  { name: 'NUNCHI_LEDGER_CACHE_MAX_ENTRIES', default: '200000', meaning: 'contact ledgers the decision service caches, customers (0: none)' },
  { name: 'NUNCHI_LEDGER_CACHE_MAX_MIB', default: '128', meaning: 'contact ledgers the decision service caches, MiB (estimated heap)' },
  { name: 'NUNCHI_TRACE_URL', default: 'http://127.0.0.1:9411/zipkin/traces/{traceId}', meaning: "analytics (console): a decision's trace in the trace backend, `{traceId}` replaced" },
  { name: 'NUNCHI_CONTEXT_URL / NUNCHI_DECISION_URL', default: 'http://127.0.0.1:<NUNCHI_CONTEXT_PORT / NUNCHI_DECISION_PORT>', meaning: "analytics (console): where it reads a customer's context, and event → offer latency from /metrics" },
  { name: 'OTEL_TRACES_EXPORTER', default: 'zipkin', meaning: 'zipkin | otlp | console | none' },
  { name: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT', default: 'http://127.0.0.1:9411/api/v2/spans', meaning: 'Zipkin span endpoint' },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', default: 'http://127.0.0.1:4318', meaning: 'OTLP/HTTP collector (traces go to /v1/traces)' },
  { name: 'OTEL_SERVICE_NAME', default: 'nunchi-<service>', meaning: 'service name on spans' },
  { name: 'NUNCHI_FAILPOINT', default: '(none)', meaning: 'crash tests only: `context.after-write=<event id>` kills the context service after that event is stored, before it is acknowledged' },
  { name: 'NUNCHI_OTEL_MAX_QUEUE', default: '65536', meaning: 'span export queue; the SDK default 2048 drops spans in bursts' },
  { name: 'NUNCHI_TRACE_DETAIL', default: 'events', meaning: 'events: ~6 spans per event across services; statements: also one span per Cassandra statement' },
  { name: 'OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG', default: 'parentbased_always_on', meaning: 'standard OpenTelemetry sampler, e.g. parentbased_traceidratio and 0.01 (read by the SDK)' },
];
