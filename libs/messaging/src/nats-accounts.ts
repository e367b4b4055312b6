import { isSubjectToken, Streams, Subjects, type DlqStage, type StreamName } from '@nunchi/contracts/core';

/**
 * Who may do what on NATS: one identity per service, per channel adapter, and the operator (the CLI), each
 * with the least subjects it needs. `npm run nats:config` (and infra:up, npm start, the demo, the benchmarks,
 * the test runner: tools/nats-auth.ts) renders it as a nats-server configuration with an nkey per identity —
 * the server holds only public keys; each process connects with NATS_USER and its seed (libs/config). Every
 * identity reads replies only under its own inbox prefix `_INBOX_<user>` (connection.ts sets it), so none can
 * read another's answers — a profile sent to the CLI, say.
 *
 * JetStream is reached through its API subjects (`$JS.API.…`, acknowledgements on `$JS.ACK.…`), so the same
 * publish permissions decide who may create a consumer on EVENTS or delete a stream. Services may only read
 * the streams' layout (checkStreams at start); only the operator creates, changes, deletes or purges streams
 * (`nunchi migrate`, `nunchi streams apply`), so no service started with a stale configuration can reset them.
 *
 * test/nats-permissions.e2e.ts starts a server with this configuration, checks each identity is refused
 * outside its subjects, and runs the four services and an adapter through an event-to-offer round trip on it;
 * the rest of the suite runs on the test runner's server, configured the same way.
 */

export interface NatsPermissions {
  /** subjects the identity may publish to (and request on) */
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
  /** may answer requests sent to it (reply subjects are granted for the one response) */
  allowResponses: boolean;
}

export interface NatsIdentity {
  /** NATS_USER of the process */
  user: string;
  /** what it is, for the generated file's comments */
  role: string;
  permissions: NatsPermissions;
}

/** The channels that get an adapter identity unless told otherwise. */
export const DEFAULT_CHANNELS = ['pos', 'web', 'app', 'callcenter', 'kiosk'] as const;

/** The reply subjects of an identity: connection.ts uses `_INBOX_<user>` as its inbox prefix. */
export const inboxOf = (user: string) => `_INBOX_${user}.>`;

const JS_ACCOUNT_INFO = '$JS.API.INFO';

/** Read the layout of every stream (checkStreams at start); never create, change, delete or purge. */
const STREAM_LAYOUT = [
  JS_ACCOUNT_INFO,
  '$JS.API.STREAM.NAMES',
  '$JS.API.STREAM.LIST',
  ...(Object.keys(Streams) as StreamName[]).map((s) => `$JS.API.STREAM.INFO.${s}`),
];

/** Create, read, fetch from and delete consumers of one stream, acknowledge its messages, read one by sequence. */
function consumersOf(stream: StreamName): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.*`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.API.CONSUMER.NAMES.${stream}`,
    `$JS.API.CONSUMER.LIST.${stream}`,
    // the consumer watchdog reads the first message past what was delivered (consumer-runner.ts)
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.ACK.${stream}.>`,
    // flow control and heartbeats of push (ordered) consumers
    `$JS.FC.${stream}.>`,
  ];
}

/**
 * Records of one service on LEASES (lease-store.ts) under mkt.lease.<service>.>, so a service cannot forge
 * another's; read back by subject: context's and decision's partition leases, ingestion's shared rate buckets.
 */
function leasesOf(group: 'context' | 'decision' | 'ingestion'): string[] {
  return [
    `mkt.lease.${group}.>`,
    '$JS.API.STREAM.MSG.GET.LEASES',
    '$JS.API.DIRECT.GET.LEASES',
    `$JS.API.DIRECT.GET.LEASES.mkt.lease.${group}.>`,
  ];
}

/** Every identity of a deployment: the four services, the operator, one adapter per channel. */
export function natsIdentities(channels: readonly string[] = DEFAULT_CHANNELS): NatsIdentity[] {
  for (const channel of channels)
    if (!isSubjectToken(channel))
      throw new Error(`channel "${channel}" is not a subject token ([A-Za-z0-9_-]{1,64})`);
  const service = (
    user: DlqStage,
    role: string,
    publish: string[],
    subscribe: string[],
    allowResponses = false,
  ): NatsIdentity => ({
    user,
    role,
    permissions: {
      // rejected input goes to the DLQ subject of the service's own stage only
      publish: { allow: [...STREAM_LAYOUT, Subjects.dlq(user), ...publish] },
      subscribe: { allow: [inboxOf(user), ...subscribe] },
      allowResponses,
    },
  });
  return [
    service(
      'ingestion',
      'service: validates input from adapters and stores it in EVENTS; never publishes offers',
      // leases: the adapters' rate buckets, shared by the replicas (docs/security.md)
      [Subjects.eventsAll, ...leasesOf('ingestion')],
      [Subjects.inboundAll, Subjects.customersChanged, Subjects.lagAll],
      true,
    ),
    service(
      'context',
      'service: folds EVENTS into context, publishes ENRICHED, answers context reads',
      // customersChanged: the hint of an erasure through DELETE /v1/customers/:id, or of a merge;
      // eventsAll: a merge's steps and the events of a customer merged away go on to the survivor
      [
        Subjects.enrichedAll,
        Subjects.eventsAll,
        Subjects.customersChanged,
        Subjects.lag('context'),
        // due absence timers onto the customer's EVENTS partition (docs/patterns.md)
        'mkt.events.*.absence',
        ...consumersOf('EVENTS'),
        ...leasesOf('context'),
        Subjects.streamRewound('EVENTS'),
        // Answers to context reads, which only the operator may request. Granted by subject rather than with
        // allow_responses, which costs nats-server (2.9) a scan of every reply subject it delivered to the
        // identity in the last 2 minutes on every delivery past 4,096 of them: each EVENTS message comes with
        // its acknowledgement subject as reply, and at a few hundred events/s the scans took more than half
        // of the server's CPU and stalled JetStream for seconds (docs/security.md).
        inboxOf('operator'),
      ],
      // campaignsChanged: reload at once, as decision does (ENRICHED carries what the active campaigns read)
      [
        Subjects.contextGet,
        Subjects.customersChanged,
        Subjects.campaignsChanged,
        Subjects.streamRewound('EVENTS'),
      ],
    ),
    service(
      'decision',
      'service: decides on ENRICHED, publishes offers and DECISIONS',
      [
        Subjects.offersAll,
        Subjects.decisionsAll,
        Subjects.lag('decision'),
        ...consumersOf('ENRICHED'),
        ...leasesOf('decision'),
        Subjects.streamRewound('ENRICHED'),
      ],
      // customersChanged: an erasure's hint, to drop the customer's data key from memory (crypto-shredding)
      [Subjects.campaignsChanged, Subjects.customersChanged, Subjects.streamRewound('ENRICHED')],
    ),
    service(
      'analytics',
      'service: reads EVENTS and DECISIONS for statistics; hosts the campaigns API, so announces campaign changes; publishes nothing of the pipeline',
      [
        Subjects.campaignsChanged,
        ...consumersOf('EVENTS'),
        ...consumersOf('DECISIONS'),
        // the console's DLQ page reads the newest entries back by sequence (console/dlq-reader.ts); read-only
        '$JS.API.STREAM.MSG.GET.DLQ',
        Subjects.streamRewound('EVENTS'),
        Subjects.streamRewound('DECISIONS'),
      ],
      // lagAll: the hot path's lag reports, to yield to it under overload (HotPathFirst)
      [Subjects.streamRewound('EVENTS'), Subjects.streamRewound('DECISIONS'), Subjects.lagAll],
    ),
    {
      user: 'operator',
      role: 'operators and the CLI: import, campaigns, DLQ and replays, stream management',
      // may publish anywhere, its answers included: allow_responses would only add the cost described at context
      permissions: { publish: { allow: ['>'] }, subscribe: { allow: ['>'] }, allowResponses: false },
    },
    ...channels.map((channel): NatsIdentity => ({
      user: `adapter-${channel}`,
      role: `channel adapter ${channel}: sends its channel's events, receives its channel's offers`,
      permissions: {
        publish: { allow: [`mkt.in.${channel}.>`] },
        subscribe: { allow: [inboxOf(`adapter-${channel}`), `mkt.offers.${channel}.>`] },
        allowResponses: false,
      },
    })),
  ];
}

/** How an identity proves itself to the server: its nkey's public key (U…), or a password. */
export type NatsCredential = { nkey: string } | { password: string };

/** Routes between the servers of a cluster, with a user and password of their own (not a client identity). */
export interface NatsClusterOptions {
  name: string;
  /** host:port the server listens on for routes */
  listen: string;
  /** the other servers' route addresses, host:port */
  routes: readonly string[];
  user: string;
  password: string;
}

/**
 * A nats-server configuration (the `authorization` block and JetStream) for these identities. Nkeys are public
 * keys, harmless to read; a password is written as given: keep such a file readable by the server only
 * (nats-server also accepts bcrypt hashes there).
 */
export function renderNatsServerConfig(options: {
  identities: readonly NatsIdentity[];
  credentials: Readonly<Record<string, NatsCredential>>;
  /** JetStream store directory; the server's default when omitted */
  storeDir?: string;
  /** routes to other servers (a cluster); they authenticate with their own user and password */
  cluster?: NatsClusterOptions;
  /** extra top-level lines (port, tls { … }, …) */
  extra?: string[];
}): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;
  const lines = [
    '# Generated from libs/messaging/src/nats-accounts.ts (`npm run nats:config`, tools/nats-auth.ts): edit that file, not this one.',
    '# One identity per service, per channel adapter, and the operator; see docs/security.md.',
    ...(options.extra ?? []),
    options.storeDir ? `jetstream { store_dir: ${q(options.storeDir)} }` : 'jetstream {}',
  ];
  const c = options.cluster;
  if (c) {
    const route = (address: string) =>
      `nats-route://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${address}`;
    lines.push(
      'cluster {',
      `  name: ${q(c.name)}`,
      `  listen: ${q(c.listen)}`,
      `  authorization { user: ${q(c.user)}, password: ${q(c.password)} }`,
      `  routes: ${list(c.routes.map(route))}`,
      '}',
    );
  }
  lines.push('authorization {', '  users = [');
  for (const id of options.identities) {
    const credential = options.credentials[id.user];
    if (!credential) throw new Error(`no credentials for NATS identity ${id.user}`);
    const p = id.permissions;
    lines.push(
      `    # ${id.role}`,
      'nkey' in credential
        ? `    { nkey: ${q(credential.nkey)}, permissions: {  # ${id.user}`
        : `    { user: ${q(id.user)}, password: ${q(credential.password)}, permissions: {`,
      `        publish: { allow: ${list(p.publish.allow)}${p.publish.deny ? `, deny: ${list(p.publish.deny)}` : ''} }`,
      `        subscribe: { allow: ${list(p.subscribe.allow)}${p.subscribe.deny ? `, deny: ${list(p.subscribe.deny)}` : ''} }`,
      ...(p.allowResponses ? ['        allow_responses: true'] : []),
      '    } }',
    );
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}

/** The Secret that holds one identity's credentials in Kubernetes (k8s/overlays/production/nats-identities.yaml). */
export const natsCredentialsSecret = (user: string) => `nunchi-nats-${user}`;

/** The Secret that holds the server's configuration (mounted by k8s/overlays/production/nats.yaml). */
export const NATS_SERVER_SECRET = 'nunchi-nats-server';

/**
 * The Secret that holds the cluster routes' own user and password (NATS_ROUTE_USER, NATS_ROUTE_PASSWORD): the
 * production overlay's servers listen for routes and dial each other with them (k8s/overlays/production/nats.yaml).
 */
export const NATS_ROUTE_SECRET = 'nunchi-nats-route';

/**
 * Kubernetes Secrets for a cluster with these identities: the server's configuration (`nats.conf`), per
 * identity its NATS_USER and NATS_NKEY_SEED, which the production overlay hands to that workload only, and the
 * routes' credentials when given. Plain objects, to be written as YAML.
 */
export function kubernetesSecrets(options: {
  identities: readonly NatsIdentity[];
  /** each identity's nkey seed (SU…) */
  seeds: Readonly<Record<string, string>>;
  serverConfig: string;
  namespace: string;
  /** the routes' user and password (URL-safe characters: they go into route URLs) */
  route?: { user: string; password: string };
}): Array<Record<string, unknown>> {
  const secret = (name: string, stringData: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: options.namespace, labels: { 'app.kubernetes.io/part-of': 'nunchi' } },
    type: 'Opaque',
    stringData,
  });
  const route = options.route;
  if (route && !/^[A-Za-z0-9_-]+$/.test(route.user + route.password))
    throw new Error(
      'the NATS route user and password must be URL-safe ([A-Za-z0-9_-]): they go into route URLs',
    );
  return [
    secret(NATS_SERVER_SECRET, { 'nats.conf': options.serverConfig }),
    ...(route
      ? [secret(NATS_ROUTE_SECRET, { NATS_ROUTE_USER: route.user, NATS_ROUTE_PASSWORD: route.password })]
      : []),
    ...options.identities.map(({ user }) => {
      const seed = options.seeds[user];
      if (!seed) throw new Error(`no nkey seed for NATS identity ${user}`);
      return secret(natsCredentialsSecret(user), { NATS_USER: user, NATS_NKEY_SEED: seed });
    }),
  ];
}
