// The Kubernetes manifests (k8s/) and the Dockerfile, checked against the code: ports, environment variable
// names and values (through loadConfig itself), entry points, references between objects, network paths,
// autoscaling. No cluster is needed: every kustomization is rendered by `kubectl kustomize` (Debian package
// kubernetes-client, or any kubectl ≥ 1.21; .ci/run installs one when missing), and every rendered object is
// validated against the Kubernetes API's OpenAPI schemas (test/k8s-schemas.spec.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import {
  DEFAULT_PORTS,
  ENVIRONMENT_VARIABLES,
  loadConfig,
  type NunchiConfig,
  type ServiceName,
} from '@nunchi/config';
import { CASSANDRA_ROLES, GRANTED_ROLES, GRANTS_FILE, SERVICE_ROLES } from '@nunchi/cassandra';
import { NODE_FLAGS } from '../tools/services.js';
import {
  kubernetesSecrets,
  natsCredentialsSecret,
  natsIdentities,
  NATS_ROUTE_SECRET,
  NATS_SERVER_SECRET,
} from '@nunchi/messaging';

// ---------------------------------------------------------------------------------------------------------
// Where the repository is: walk up from this file (dist/test/, or another build folder such as
// .nunchi/build-k8s/test/) to the first folder with both package.json and k8s/.

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'k8s'))) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`no folder with package.json and k8s/ above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

const ROOT = findRoot();
const K8S = join(ROOT, 'k8s');
const rel = (path: string) => relative(ROOT, path).split(sep).join('/');

/** The nightly CronJob of `nunchi history pack` (k8s/base/history-pack-cronjob.yaml), and its arguments. */
const HISTORY_PACK = 'nunchi-history-pack';
const HISTORY_PACK_ARGS = ['history', 'pack', '--weeks', '2'];

/** The four services, their ports as the code defaults them, and what the overlays must give each. */
const SERVICES = ['ingestion', 'context', 'decision', 'analytics'] as const;
type Service = (typeof SERVICES)[number];

interface Expectation {
  replicas: Record<Service, number>;
  exporter: NunchiConfig['telemetry']['exporter'];
  replication: { strategy: 'SimpleStrategy' | 'NetworkTopologyStrategy'; factor: number };
  /** the ingestion HPA's minReplicas, or null when the rendering has no HPA */
  hpaMin: number | null;
  /** the Secret nunchi-secrets is part of the output (placeholders), or must be created outside it */
  secretInOutput: boolean;
  namespace: string | undefined;
  /** the image every Nunchi container runs; a RegExp for "pinned" */
  image: string | RegExp;
  /** KEDA ScaledObjects' minReplicaCount for context and decision, or null when the rendering has none */
  kedaMin: number | null;
  /** an OpenTelemetry Collector is deployed (the services send OTLP to it) */
  collector: boolean;
  /** NATS and Cassandra clusters are part of the rendering (StatefulSets of 3), streams replicated 3 times */
  clusters: boolean;
  /** where the NATS server with the generated identities is rendered (this directory, or local-infra), if any */
  natsIdentities: string | null;
}

const RENDERINGS: Record<string, Expectation> = {
  base: {
    replicas: { ingestion: 2, context: 2, decision: 2, analytics: 1 },
    exporter: 'otlp',
    replication: { strategy: 'NetworkTopologyStrategy', factor: 3 },
    hpaMin: 2,
    secretInOutput: true,
    namespace: undefined,
    image: 'nunchi',
    kedaMin: 2,
    collector: true,
    clusters: false,
    natsIdentities: null,
  },
  'overlays/local': {
    replicas: { ingestion: 1, context: 1, decision: 1, analytics: 1 },
    exporter: 'zipkin',
    replication: { strategy: 'SimpleStrategy', factor: 1 },
    hpaMin: null,
    secretInOutput: true,
    namespace: 'nunchi',
    image: 'nunchi:dev',
    kedaMin: null,
    collector: false,
    clusters: false,
    natsIdentities: 'local-infra',
  },
  'overlays/production': {
    replicas: { ingestion: 3, context: 3, decision: 3, analytics: 1 },
    exporter: 'otlp',
    replication: { strategy: 'NetworkTopologyStrategy', factor: 3 },
    hpaMin: 3,
    secretInOutput: false,
    namespace: 'nunchi',
    // a registry path and an explicit version tag or digest, never "latest"
    image: /^[a-z0-9.-]+(:\d+)?\/[a-z0-9/._-]+(:(?!latest$)[\w][\w.-]*|@sha256:[0-9a-f]{64})$/,
    kedaMin: 3,
    collector: true,
    clusters: true,
    natsIdentities: 'overlays/production',
  },
};

// ---------------------------------------------------------------------------------------------------------
// YAML and small accessors

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  assert.ok(isObj(v), `${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** a scalar as Kubernetes would read it; anything else as JSON, so that a mistake shows in messages */
const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
/** a nested value by dotted path, undefined when any step is missing */
function at(o: unknown, path: string): unknown {
  let cur = o;
  for (const key of path.split('.')) cur = isObj(cur) ? cur[key] : undefined;
  return cur;
}

/**
 * Every document of a YAML file, parsed like Kubernetes does (YAML 1.1: yes/no/on/off are booleans). A JSON
 * patch (RFC 6902: a list of operations, for patches that target several objects) is checked here and yields
 * no object.
 */
function readYaml(file: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' })) {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${rel(file)} does not parse`,
    );
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      for (const op of value)
        assert.ok(
          isObj(op) &&
            ['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(String(op['op'])) &&
            typeof op['path'] === 'string' &&
            op['path'].startsWith('/'),
          `${rel(file)}: a list must be a JSON patch (op and path in each entry), got ${JSON.stringify(op)}`,
        );
      continue;
    }
    out.push(obj(value, rel(file)));
  }
  return out;
}

function yamlFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(name)) files.push(path);
  }
  return files;
}

const ALL_YAML = yamlFilesUnder(K8S);
const KUSTOMIZATION_DIRS = ALL_YAML.filter((f) => /(^|[/\\])kustomization\.yaml$/.test(f)).map((f) =>
  dirname(f),
);

// ---------------------------------------------------------------------------------------------------------
// Kustomizations: what they refer to (for the "every file is used" check); rendering is kubectl's.

interface Kustomization {
  dir: string;
  kind: 'Kustomization' | 'Component';
  /** files and directories */
  resources: string[];
  /** patch files */
  patches: string[];
  components: string[];
}

function readKustomization(dir: string): Kustomization {
  const file = join(dir, 'kustomization.yaml');
  const [raw, ...more] = readYaml(file);
  assert.ok(raw && more.length === 0, `${rel(file)}: one document`);
  const kind = raw['kind'];
  assert.ok(
    kind === 'Kustomization' || kind === 'Component',
    `${rel(file)}: kind Kustomization or Component`,
  );
  const patches = arr(raw['patches']).map((p, i) => {
    const patch = obj(p, `${rel(file)} patches[${i}]`);
    assert.ok(
      typeof patch['path'] === 'string',
      `${rel(file)} patches[${i}]: a patch file (path), so that it is reviewed as YAML`,
    );
    return patch['path'];
  });
  assert.equal(
    raw['patchesStrategicMerge'],
    undefined,
    `${rel(file)}: patchesStrategicMerge is deprecated: use patches`,
  );
  return {
    dir,
    kind,
    resources: arr(raw['resources']).map(String),
    patches,
    components: arr(raw['components']).map(String),
  };
}

/** kubectl kustomize, or a failure that names the install step. */
function kustomize(dir: string): string {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT')
    assert.fail(
      'kubectl is not installed: apt-get install -y kubernetes-client (Debian; .ci/run installs it)',
    );
  if (run.status !== 0 && /patchesStrategicMerge|must be a file/.test(run.stderr))
    assert.fail(
      `kubectl kustomize ${rel(dir)} failed: this kubectl's kustomize is too old for patches: and directory resources (kubectl ≥ 1.21 is needed; \`kubectl version --client\`):\n${run.stderr}`,
    );
  assert.equal(run.status, 0, `kubectl kustomize ${rel(dir)}:\n${run.stderr}`);
  return run.stdout;
}

const rendered = new Map<string, Obj[]>();
/** What `kubectl kustomize <dir>` gives, parsed; `components` are added on top (relative to k8s/). */
function render(dir: string, components: string[] = []): Obj[] {
  const key = [dir, ...components].join('\u0000');
  const cached = rendered.get(key);
  if (cached) return structuredClone(cached);
  let text: string;
  if (components.length === 0) text = kustomize(dir);
  else {
    // kustomize takes relative paths only: a throw-away kustomization that points back at the tree
    const tmp = mkdtempSync(join(tmpdir(), 'nunchi-kustomize-'));
    try {
      writeFileSync(
        join(tmp, 'kustomization.yaml'),
        stringify({
          resources: [relative(tmp, dir)],
          components: components.map((c) => relative(tmp, join(K8S, c))),
        }),
      );
      text = kustomize(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const objects: Obj[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `kubectl kustomize ${rel(dir)} printed YAML that does not parse`,
    );
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(obj(value, rel(dir)));
  }
  rendered.set(key, objects);
  return structuredClone(objects);
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);

/** The pod template of a workload, a CronJob (its jobTemplate's) or undefined. */
function podTemplateOf(o: Obj): Obj | undefined {
  const template = WORKLOAD_KINDS.has(String(o['kind']))
    ? at(o, 'spec.template')
    : o['kind'] === 'CronJob'
      ? at(o, 'spec.jobTemplate.spec.template')
      : undefined;
  return isObj(template) ? template : undefined;
}

function podSpecOf(o: Obj): Obj | undefined {
  const kind = String(o['kind']);
  if (WORKLOAD_KINDS.has(kind))
    return isObj(at(o, 'spec.template.spec')) ? (at(o, 'spec.template.spec') as Obj) : undefined;
  if (kind === 'CronJob') return at(o, 'spec.jobTemplate.spec.template.spec') as Obj | undefined;
  if (kind === 'Pod') return at(o, 'spec') as Obj | undefined;
  return undefined;
}
const containersOf = (o: Obj): Obj[] => {
  const spec = podSpecOf(o);
  return spec
    ? [...arr(spec['containers']), ...arr(spec['initContainers'])].map((c) => obj(c, `${idOf(o)} container`))
    : [];
};
const nameOf = (o: Obj) => String(at(o, 'metadata.name'));
const idOf = (o: Obj) => `${String(o['kind'])}/${nameOf(o)}`;

function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withTag, digest] = image.split('@') as [string, string | undefined];
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  return colon > slash
    ? { name: withTag.slice(0, colon), tag: withTag.slice(colon + 1), digest }
    : { name: withTag, digest };
}

// ---------------------------------------------------------------------------------------------------------
// What the code reads

/** Names in ENVIRONMENT_VARIABLES, with "A / B" split and NUNCHI_<SERVICE>_PORT expanded; plus NODE_ENV. */
function documentedVariables(): Set<string> {
  const names = new Set<string>(['NODE_ENV']);
  for (const variable of ENVIRONMENT_VARIABLES) {
    for (const part of variable.name.split('/').map((s) => s.trim())) {
      if (part.includes('<SERVICE>')) {
        for (const [service, port] of Object.entries(DEFAULT_PORTS))
          if (port > 0) names.add(part.replace('<SERVICE>', service.toUpperCase()));
      } else {
        names.add(part);
      }
    }
  }
  return names;
}

/** The keys loadConfig(service) actually looks up, observed through a recording environment. */
function variablesReadBy(service: ServiceName): Set<string> {
  const seen = new Set<string>();
  const recorder = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get(_target, key) {
        if (typeof key === 'string') seen.add(key);
        return undefined;
      },
    },
  );
  try {
    loadConfig(service, recorder);
  } catch {
    // only the keys matter here
  }
  return seen;
}

const DOCUMENTED = documentedVariables();
const READ_BY: Record<ServiceName, Set<string>> = {
  ingestion: variablesReadBy('ingestion'),
  context: variablesReadBy('context'),
  decision: variablesReadBy('decision'),
  analytics: variablesReadBy('analytics'),
  cli: variablesReadBy('cli'),
};
const READ_BY_ANY = new Set(Object.values(READ_BY).flatMap((s) => [...s]));

// ---------------------------------------------------------------------------------------------------------
// Resolving a container's environment as the kubelet would

/**
 * Secret templates anywhere under k8s/, used when a rendering expects the Secret to be created outside it, and
 * the NATS identities' Secrets as `npm run nats:config -- --k8s` writes them (seeds aside).
 */
const SECRET_TEMPLATES = new Map([
  ...ALL_YAML.flatMap((f) => readYaml(f))
    .filter((o) => o['kind'] === 'Secret' && (o['stringData'] !== undefined || o['data'] !== undefined))
    .map((o) => [nameOf(o), o] as const),
  ...generatedNatsSecrets().map((o) => [nameOf(o), o] as const),
]);

function generatedNatsSecrets(): Obj[] {
  const identities = natsIdentities();
  // the shape of a generated seed (config checks it), not a real one
  const seeds = Object.fromEntries(identities.map((i) => [i.user, `SU${'A'.repeat(56)}`]));
  return kubernetesSecrets({
    identities,
    seeds,
    serverConfig: '',
    namespace: 'nunchi',
    route: { user: 'route', password: 'r'.repeat(32) },
  });
}

function dataOf(o: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObj(o['data']) ? o['data'] : {})) {
    out[k] = o['kind'] === 'Secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
  }
  for (const [k, v] of Object.entries(isObj(o['stringData']) ? o['stringData'] : {})) out[k] = String(v);
  return out;
}

function find(objects: Obj[], kind: string, name: string): Obj | undefined {
  return objects.find((o) => o['kind'] === kind && nameOf(o) === name);
}

function source(objects: Obj[], kind: 'ConfigMap' | 'Secret', name: string, where: string): Obj {
  const found = find(objects, kind, name) ?? (kind === 'Secret' ? SECRET_TEMPLATES.get(name) : undefined);
  assert.ok(
    found,
    `${where} refers to ${kind} ${name}, which neither this rendering nor a template under k8s/ defines`,
  );
  return found;
}

function resolvedEnv(objects: Obj[], container: Obj, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of arr(container['envFrom']).map((f) => obj(f, where))) {
    const prefix = str(from['prefix']) ?? '';
    const cm = at(from, 'configMapRef.name');
    const secret = at(from, 'secretRef.name');
    const data = cm
      ? dataOf(source(objects, 'ConfigMap', text(cm), where))
      : secret
        ? dataOf(source(objects, 'Secret', text(secret), where))
        : {};
    for (const [k, v] of Object.entries(data)) env[prefix + k] = v;
  }
  for (const e of arr(container['env']).map((x) => obj(x, where))) {
    const name = String(e['name']);
    if (e['value'] !== undefined) env[name] = text(e['value']);
    else if (at(e, 'valueFrom.configMapKeyRef'))
      env[name] =
        dataOf(source(objects, 'ConfigMap', String(at(e, 'valueFrom.configMapKeyRef.name')), where))[
          String(at(e, 'valueFrom.configMapKeyRef.key'))
        ] ?? '';
    else if (at(e, 'valueFrom.secretKeyRef'))
      env[name] =
        dataOf(source(objects, 'Secret', String(at(e, 'valueFrom.secretKeyRef.name')), where))[
          String(at(e, 'valueFrom.secretKeyRef.key'))
        ] ?? '';
    else env[name] = '';
  }
  return env;
}

/** Every variable name a container sets: its env entries and every key of the ConfigMaps/Secrets it loads. */
function namesSetBy(objects: Obj[], container: Obj, where: string): { own: string[]; shared: string[] } {
  const own = arr(container['env']).map((e) => String(obj(e, where)['name']));
  const shared = arr(container['envFrom']).flatMap((f) => {
    const from = obj(f, where);
    const prefix = str(from['prefix']) ?? '';
    const cm = at(from, 'configMapRef.name');
    const secret = at(from, 'secretRef.name');
    const data = cm
      ? dataOf(source(objects, 'ConfigMap', text(cm), where))
      : secret
        ? dataOf(source(objects, 'Secret', text(secret), where))
        : {};
    return Object.keys(data).map((k) => prefix + k);
  });
  return { own, shared };
}

/** `{'class': 'NetworkTopologyStrategy', 'dc1': 3}` (a CQL map literal) as an object */
function parseReplication(cql: string): Record<string, string | number> {
  const parsed: unknown = JSON.parse(cql.replace(/'/g, '"'));
  return obj(parsed, `CASSANDRA_REPLICATION ${cql}`) as Record<string, string | number>;
}

/** `node dist/apps/<service>/src/main.js …` → <service> */
function entryPointOf(container: Obj): { app: string; args: string[]; nodeFlags: string[] } | undefined {
  const command = [...arr(container['command']), ...arr(container['args'])].map(String);
  const script = command.findIndex((c) => /^(\/app\/)?dist\/apps\/[a-z-]+\/src\/main\.js$/.test(c));
  if (command[0] !== 'node' || script < 0) return undefined;
  return {
    app: /dist\/apps\/([a-z-]+)\//.exec(command[script])![1],
    args: command.slice(script + 1),
    nodeFlags: command.slice(1, script),
  };
}

const isNunchiContainer = (c: Obj) => splitImage(String(c['image'])).name.split('/').pop() === 'nunchi';

// ---------------------------------------------------------------------------------------------------------
// Schemas: kubernetes-models (the Kubernetes API's OpenAPI schemas as JSON Schema validators) and
// @kubernetes-models/keda for KEDA's CRDs. Types, required fields and enums are checked; unknown fields are not.

async function validateSchema(o: Obj): Promise<void> {
  const [group, version] = String(o['apiVersion']).includes('/')
    ? String(o['apiVersion']).split('/')
    : ['', String(o['apiVersion'])];
  const kind = String(o['kind']);
  const module =
    group === 'keda.sh'
      ? `@kubernetes-models/keda/keda.sh/${version}/${kind}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = ((await import(module)) as Record<string, new (data: unknown) => { validate(): void }>)[kind];
  } catch {
    assert.fail(
      `${idOf(o)}: no schema for ${String(o['apiVersion'])} ${kind} (kubernetes-models, @kubernetes-models/keda)`,
    );
  }
  try {
    new Model(o).validate();
  } catch (error) {
    assert.fail(
      `${idOf(o)} does not match the ${String(o['apiVersion'])} ${kind} schema: ${(error as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// NetworkPolicies, evaluated as Kubernetes does: a pod selected by no policy of a direction is open in that
// direction; otherwise only what some rule allows passes. A connection needs the sender's egress and the
// receiver's ingress. The policies live in the nunchi namespace.

type Labels = Record<string, string>;
interface Peer {
  pod: Labels;
  /** labels of the pod's namespace (kubernetes.io/metadata.name is its name) */
  ns: Labels;
}

function selects(selector: unknown, labels: Labels): boolean {
  if (!isObj(selector)) return false;
  const matchLabels = isObj(selector['matchLabels']) ? selector['matchLabels'] : {};
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return arr(selector['matchExpressions']).every((e) => {
    const key = String(at(e, 'key'));
    const values = arr(at(e, 'values')).map(String);
    switch (at(e, 'operator')) {
      case 'In':
        return labels[key] !== undefined && values.includes(labels[key]);
      case 'NotIn':
        return labels[key] === undefined || !values.includes(labels[key]);
      case 'Exists':
        return labels[key] !== undefined;
      case 'DoesNotExist':
        return labels[key] === undefined;
      default:
        assert.fail(`matchExpressions operator ${String(at(e, 'operator'))}`);
    }
  });
}

const inNunchi = (p: Peer) => p.ns['kubernetes.io/metadata.name'] === 'nunchi';

/** a `from`/`to` entry of a rule: podSelector alone means pods of the policy's own namespace */
function peerMatches(entry: unknown, peer: Peer): boolean {
  const pod = at(entry, 'podSelector');
  const nsSel = at(entry, 'namespaceSelector');
  if (at(entry, 'ipBlock') !== undefined) return false;
  const nsOk = nsSel === undefined ? inNunchi(peer) : selects(nsSel, peer.ns);
  const podOk = pod === undefined ? true : selects(pod, peer.pod);
  return nsOk && podOk;
}

function ruleAllows(rule: unknown, peers: 'from' | 'to', peer: Peer, port: number): boolean {
  const entries = arr(at(rule, peers));
  const ports = arr(at(rule, 'ports'));
  return (
    (at(rule, peers) === undefined || entries.some((e) => peerMatches(e, peer))) &&
    (at(rule, 'ports') === undefined || ports.some((p) => at(p, 'port') === port))
  );
}

function sideAllows(
  policies: Obj[],
  self: Peer,
  other: Peer,
  port: number,
  direction: 'Ingress' | 'Egress',
): boolean {
  if (!inNunchi(self)) return true; // not ours to restrict
  const applying = policies.filter(
    (p) => selects(at(p, 'spec.podSelector'), self.pod) && arr(at(p, 'spec.policyTypes')).includes(direction),
  );
  if (applying.length === 0) return true;
  const key = direction === 'Ingress' ? 'spec.ingress' : 'spec.egress';
  const peers = direction === 'Ingress' ? 'from' : 'to';
  return applying.some((p) => arr(at(p, key)).some((rule) => ruleAllows(rule, peers, other, port)));
}

function allowed(policies: Obj[], from: Peer, to: Peer, port: number): boolean {
  return sideAllows(policies, from, to, port, 'Egress') && sideAllows(policies, to, from, port, 'Ingress');
}
// ---------------------------------------------------------------------------------------------------------

describe('k8s/: files and kustomizations', () => {
  it('every YAML file parses, and every object in it names its apiVersion, kind and metadata.name', () => {
    assert.ok(ALL_YAML.length > 0, 'no YAML under k8s/');
    for (const file of ALL_YAML) {
      for (const o of readYaml(file)) {
        assert.ok(
          typeof o['apiVersion'] === 'string' && typeof o['kind'] === 'string',
          `${rel(file)}: apiVersion and kind`,
        );
        if (o['kind'] !== 'Kustomization' && o['kind'] !== 'Component')
          assert.ok(
            typeof at(o, 'metadata.name') === 'string',
            `${rel(file)}: ${String(o['kind'])} without metadata.name`,
          );
      }
    }
  });

  it('every kustomization refers to files and directories that exist, and every YAML file is used by one', () => {
    const used = new Set<string>();
    for (const dir of KUSTOMIZATION_DIRS) {
      const k = readKustomization(dir);
      used.add(join(dir, 'kustomization.yaml'));
      for (const r of k.resources) {
        const path = resolve(dir, r);
        assert.ok(existsSync(path), `${rel(dir)}/kustomization.yaml: resource ${r} does not exist`);
        if (statSync(path).isDirectory()) {
          assert.ok(
            existsSync(join(path, 'kustomization.yaml')),
            `${rel(dir)}/kustomization.yaml: ${r} has no kustomization.yaml`,
          );
        } else {
          // kustomize's default load restrictor: files must be inside the kustomization's own folder
          assert.ok(
            !relative(dir, path).startsWith('..'),
            `${rel(dir)}/kustomization.yaml: file ${r} lies outside its folder (kustomize refuses it)`,
          );
          used.add(path);
        }
      }
      for (const p of k.patches) {
        const path = resolve(dir, p);
        assert.ok(
          existsSync(path) && !relative(dir, path).startsWith('..'),
          `${rel(dir)}/kustomization.yaml: patch ${p} does not exist in its folder`,
        );
        used.add(path);
      }
      for (const c of k.components) {
        const path = resolve(dir, c);
        assert.ok(
          existsSync(join(path, 'kustomization.yaml')) && readKustomization(path).kind === 'Component',
          `${rel(dir)}/kustomization.yaml: component ${c} is not a folder with a kind: Component kustomization`,
        );
      }
    }
    assert.deepEqual(
      ALL_YAML.filter((f) => !used.has(f)).map(rel),
      [],
      'YAML files no kustomization uses (they would never be applied)',
    );
  });

  it('every kustomization renders with kubectl kustomize (components on top of production), every object valid by its schema', async () => {
    for (const dir of KUSTOMIZATION_DIRS) {
      const k = readKustomization(dir);
      const objects =
        k.kind === 'Component'
          ? render(join(K8S, 'overlays/production'), [rel(dir).replace(/^k8s\//, '')])
          : render(dir);
      assert.ok(objects.length > 0, `${rel(dir)} renders nothing`);
      for (const o of objects) await validateSchema(o);
    }
  });

  it('renders base, local and production, and only those contain Nunchi workloads', () => {
    for (const name of Object.keys(RENDERINGS))
      assert.ok(KUSTOMIZATION_DIRS.includes(join(K8S, name)), `k8s/${name}/kustomization.yaml is missing`);
    for (const dir of KUSTOMIZATION_DIRS.filter(
      (d) =>
        !Object.keys(RENDERINGS).includes(rel(d).replace(/^k8s\//, '')) &&
        readKustomization(d).kind !== 'Component',
    )) {
      const nunchi = render(dir).filter((o) => containersOf(o).some(isNunchiContainer));
      assert.deepEqual(
        nunchi.map(idOf),
        [],
        `${rel(dir)} runs Nunchi containers but is not checked as a rendering: add it to RENDERINGS`,
      );
    }
  });
});

for (const [name, expect] of Object.entries(RENDERINGS)) {
  describe(`k8s/${name}`, () => {
    const objects = render(join(K8S, name));
    const deployments = new Map(
      SERVICES.map(
        (svc) =>
          [
            svc,
            objects.find(
              (o) => o['kind'] === 'Deployment' && containersOf(o).some((c) => entryPointOf(c)?.app === svc),
            ),
          ] as const,
      ),
    );
    const mainContainer = (svc: Service): Obj => {
      const d = deployments.get(svc);
      assert.ok(d, `no Deployment runs dist/apps/${svc}/src/main.js`);
      const c = containersOf(d).find((x) => entryPointOf(x)?.app === svc);
      assert.ok(c);
      return c;
    };
    const portOf = (svc: Service): number => {
      const ports = arr(mainContainer(svc)['ports']).map((p) => obj(p, svc));
      assert.equal(ports.length, 1, `${svc}: one container port`);
      return Number(ports[0]['containerPort']);
    };

    it('has, for each of the four services, a Deployment running its entry point and a Service selecting its pods', () => {
      for (const svc of SERVICES) {
        const d = deployments.get(svc);
        assert.ok(d, `no Deployment runs node dist/apps/${svc}/src/main.js`);
        assert.ok(
          existsSync(join(ROOT, 'apps', svc, 'src', 'main.ts')),
          `apps/${svc}/src/main.ts does not exist`,
        );
        assert.deepEqual(entryPointOf(mainContainer(svc))?.args, [], `${svc}: no arguments after main.js`);
        // the flags npm start runs it with (tools/services.ts), chosen by a benchmark: the same in a pod
        assert.deepEqual(
          entryPointOf(mainContainer(svc))?.nodeFlags,
          NODE_FLAGS[svc] ?? [],
          `${svc}: node runs with the flags of tools/services.ts NODE_FLAGS`,
        );
        const podLabels = obj(at(d, 'spec.template.metadata.labels'), `${idOf(d)} pod labels`);
        const selector = obj(at(d, 'spec.selector.matchLabels'), `${idOf(d)} selector`);
        for (const [k, v] of Object.entries(selector))
          assert.equal(podLabels[k], v, `${idOf(d)}: selector ${k} does not match its pod labels`);
        const services = objects.filter(
          (o) =>
            o['kind'] === 'Service' &&
            isObj(at(o, 'spec.selector')) &&
            Object.entries(at(o, 'spec.selector') as Obj).every(([k, v]) => podLabels[k] === v),
        );
        assert.equal(services.length, 1, `${svc}: exactly one Service selects its pods`);
        assert.equal(at(d, 'spec.replicas'), expect.replicas[svc], `${svc}: replicas`);
      }
    });

    it('container port = NUNCHI_<SERVICE>_PORT = probe ports = scrape port = Service targetPort', () => {
      for (const svc of SERVICES) {
        const d = deployments.get(svc)!;
        const c = mainContainer(svc);
        const port = portOf(svc);
        const portName = str(obj(arr(c['ports'])[0], svc)['name']);
        const env = arr(c['env']).map((e) => obj(e, svc));
        const portVar = `NUNCHI_${svc.toUpperCase()}_PORT`;
        assert.equal(
          env.find((e) => e['name'] === portVar)?.['value'],
          String(port),
          `${svc}: ${portVar} must be set explicitly to the container port`,
        );
        assert.equal(
          port,
          DEFAULT_PORTS[svc],
          `${svc}: port ${port} differs from the code's default ${DEFAULT_PORTS[svc]} (README, docs, demo)`,
        );
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          if (c[probe] === undefined) continue;
          const p = at(c, `${probe}.httpGet.port`);
          assert.ok(
            p === port || (portName !== undefined && p === portName),
            `${svc}: ${probe} port ${String(p)} is not the container port ${port}`,
          );
        }
        assert.equal(at(c, 'livenessProbe.httpGet.path'), '/health', `${svc}: liveness probe path`);
        assert.equal(at(c, 'readinessProbe.httpGet.path'), '/ready', `${svc}: readiness probe path`);
        if (c['startupProbe'] !== undefined)
          assert.equal(at(c, 'startupProbe.httpGet.path'), '/health', `${svc}: startup probe path`);
        const annotations = obj(at(d, 'spec.template.metadata.annotations'), `${svc} pod annotations`);
        assert.equal(annotations['prometheus.io/scrape'], 'true', `${svc}: prometheus.io/scrape`);
        assert.equal(annotations['prometheus.io/port'], String(port), `${svc}: prometheus.io/port`);
        assert.equal(annotations['prometheus.io/path'], '/metrics', `${svc}: prometheus.io/path`);
        const podLabels = obj(at(d, 'spec.template.metadata.labels'), svc);
        const service = objects.find(
          (o) =>
            o['kind'] === 'Service' &&
            isObj(at(o, 'spec.selector')) &&
            Object.entries(at(o, 'spec.selector') as Obj).every(([k, v]) => podLabels[k] === v),
        )!;
        for (const sp of arr(at(service, 'spec.ports')).map((p) => obj(p, idOf(service)))) {
          const target = sp['targetPort'] ?? sp['port'];
          assert.ok(
            target === port || (portName !== undefined && target === portName),
            `${idOf(service)}: targetPort ${String(target)} is not the container port ${port}`,
          );
        }
      }
    });

    it('sets only environment variables that libs/config documents and reads, with string values', () => {
      for (const o of objects) {
        for (const c of containersOf(o).filter(isNunchiContainer)) {
          const where = `${idOf(o)} container ${String(c['name'])}`;
          const app = entryPointOf(c)?.app;
          const service = app === 'cli' ? 'cli' : SERVICES.find((s) => s === app);
          assert.ok(service, `${where}: runs neither a service nor the CLI`);
          const { own, shared } = namesSetBy(objects, c, where);
          for (const n of own) {
            assert.ok(
              DOCUMENTED.has(n),
              `${where}: ${n} is not in ENVIRONMENT_VARIABLES (libs/config/src/config.ts)`,
            );
            assert.ok(
              n === 'NODE_ENV' || READ_BY[service].has(n),
              `${where}: loadConfig('${service}') never reads ${n}`,
            );
          }
          for (const n of shared) {
            assert.ok(
              DOCUMENTED.has(n),
              `${where}: ${n} (from a ConfigMap/Secret) is not in ENVIRONMENT_VARIABLES (libs/config/src/config.ts)`,
            );
            assert.ok(READ_BY_ANY.has(n), `${where}: no loadConfig call reads ${n}`);
          }
          for (const e of arr(c['env']).map((x) => obj(x, where))) {
            if (e['value'] !== undefined)
              assert.equal(
                typeof e['value'],
                'string',
                `${where}: ${String(e['name'])} must be a quoted string`,
              );
          }
        }
      }
      for (const o of objects.filter((x) => x['kind'] === 'ConfigMap' || x['kind'] === 'Secret')) {
        for (const field of ['data', 'stringData']) {
          for (const [k, v] of Object.entries(isObj(o[field]) ? o[field] : {}))
            assert.equal(typeof v, 'string', `${idOf(o)}: ${k} must be a quoted string`);
        }
      }
    });

    it("each Deployment's resolved environment (ConfigMap + Secret + its own env) passes loadConfig", () => {
      for (const svc of SERVICES) {
        const where = `Deployment ${nameOf(deployments.get(svc)!)}`;
        const env = resolvedEnv(objects, mainContainer(svc), where);
        let config: NunchiConfig;
        try {
          config = loadConfig(svc, env);
        } catch (error) {
          assert.fail(`${where}: ${(error as Error).message}`);
        }
        assert.equal(
          env['NODE_ENV'],
          'production',
          `${where}: NODE_ENV=production (makes the identity secret mandatory)`,
        );
        assert.equal(config.httpPort, portOf(svc), `${where}: loadConfig's port is not the container port`);
        assert.equal(
          config.httpHost,
          '0.0.0.0',
          `${where}: NUNCHI_HTTP_HOST must be 0.0.0.0 for probes and Services`,
        );
        assert.equal(config.telemetry.serviceName, `nunchi-${svc}`, `${where}: OTEL_SERVICE_NAME`);
        assert.ok(env['OTEL_SERVICE_NAME'], `${where}: OTEL_SERVICE_NAME set explicitly`);
        assert.equal(config.telemetry.exporter, expect.exporter, `${where}: OTEL_TRACES_EXPORTER`);
        if (expect.exporter === 'zipkin')
          assert.ok(env['OTEL_EXPORTER_ZIPKIN_ENDPOINT'], `${where}: OTEL_EXPORTER_ZIPKIN_ENDPOINT set`);
        if (expect.exporter === 'otlp')
          assert.ok(env['OTEL_EXPORTER_OTLP_ENDPOINT'], `${where}: OTEL_EXPORTER_OTLP_ENDPOINT set`);
        assert.ok(
          !/127\.0\.0\.1|localhost/.test(config.nats.url),
          `${where}: NATS_URL ${config.nats.url} points at the pod itself`,
        );
        assert.ok(
          config.cassandra.contactPoints.every((p) => !/127\.0\.0\.1|localhost/.test(p)),
          `${where}: CASSANDRA_CONTACT_POINTS point at the pod itself`,
        );
        const replication = parseReplication(config.cassandra.replication);
        assert.equal(
          replication['class'],
          expect.replication.strategy,
          `${where}: CASSANDRA_REPLICATION class`,
        );
        const factor =
          expect.replication.strategy === 'SimpleStrategy'
            ? replication['replication_factor']
            : replication[config.cassandra.localDataCenter];
        assert.equal(
          Number(factor),
          expect.replication.factor,
          `${where}: replication factor of ${expect.replication.strategy === 'SimpleStrategy' ? 'the keyspace' : `CASSANDRA_LOCAL_DC ${config.cassandra.localDataCenter}`}`,
        );
      }
      const configs = SERVICES.map((svc) => loadConfig(svc, resolvedEnv(objects, mainContainer(svc), svc)));
      // The same servers and settings; who each one is to NATS (auth, its reply prefix) and Cassandra (its role) is its own.
      const shared = (c: NunchiConfig, key: 'nats' | 'cassandra') =>
        key === 'nats'
          ? { ...c.nats, auth: undefined, inboxPrefix: undefined }
          : { ...c.cassandra, username: undefined, password: undefined };
      for (const key of ['nats', 'cassandra'] as const) {
        assert.equal(
          new Set(configs.map((c) => JSON.stringify(shared(c, key)))).size,
          1,
          `the four services must share one ${key} configuration`,
        );
      }
      assert.equal(
        new Set(configs.map((c) => JSON.stringify(c.domain))).size,
        1,
        'the four services must share one domain configuration (timezone, identity secret, TTLs)',
      );
    });

    it('runs `nunchi migrate` in a Job whose configuration validates and matches the services', () => {
      const jobs = objects.filter(
        (o) => o['kind'] === 'Job' && containersOf(o).some((c) => entryPointOf(c)?.app === 'cli'),
      );
      assert.equal(jobs.length, 1, 'one migration Job');
      const job = jobs[0];
      const c = containersOf(job).find((x) => entryPointOf(x)?.app === 'cli')!;
      assert.deepEqual(entryPointOf(c)?.args, ['migrate']);
      assert.ok(existsSync(join(ROOT, 'apps', 'cli', 'src', 'main.ts')), 'apps/cli/src/main.ts');
      assert.ok(
        readdirSync(join(ROOT, 'cql')).some((f) => /^\d{4}_.*\.cql$/.test(f)),
        'cql/ has migrations',
      );
      assert.equal(at(job, 'spec.template.spec.restartPolicy'), 'Never');
      let config: NunchiConfig;
      try {
        config = loadConfig('cli', resolvedEnv(objects, c, idOf(job)));
      } catch (error) {
        assert.fail(`${idOf(job)}: ${(error as Error).message}`);
      }
      const service = loadConfig('context', resolvedEnv(objects, mainContainer('context'), 'context'));
      // who each one is to Cassandra (its role) is its own
      const where = (c: NunchiConfig) => ({
        ...c.cassandra,
        username: undefined,
        password: undefined,
        rolePasswordsDir: undefined,
      });
      assert.deepEqual(where(config), where(service), 'the Job migrates the keyspace the services use');
      assert.equal(
        splitImage(String(c['image'])).name,
        splitImage(String(mainContainer('context')['image'])).name,
        'the Job runs the services’ image',
      );
      assert.equal(
        c['image'],
        mainContainer('context')['image'],
        'the Job runs the same image version as the services',
      );
      for (const o of [
        job,
        // the Namespace, and the ConfigMaps and Secrets the Job reads
        ...objects.filter(
          (x) =>
            x['kind'] === 'Namespace' ||
            ((x['kind'] === 'ConfigMap' || x['kind'] === 'Secret') &&
              arr(c['envFrom']).some(
                (f) => at(f, 'configMapRef.name') === nameOf(x) || at(f, 'secretRef.name') === nameOf(x),
              )),
        ),
      ]) {
        assert.equal(
          obj(at(o, 'metadata.labels'), idOf(o))['nunchi.io/migrate'],
          'true',
          `${idOf(o)}: label nunchi.io/migrate=true (applied first, with -l)`,
        );
      }
    });

    it('runs `nunchi history pack --weeks 2` nightly in a CronJob: one at a time, in the domain’s time zone, as the operator', () => {
      const cronJobs = objects.filter(
        (o) => o['kind'] === 'CronJob' && containersOf(o).some((c) => entryPointOf(c)?.app === 'cli'),
      );
      assert.deepEqual(cronJobs.map(nameOf), [HISTORY_PACK], 'one CLI CronJob: the history pack');
      const cron = cronJobs[0];
      const [c, ...others] = containersOf(cron);
      assert.equal(others.length, 0, `${idOf(cron)}: one container`);
      assert.deepEqual(entryPointOf(c)?.args, HISTORY_PACK_ARGS, `${idOf(cron)}: the command`);
      assert.match(String(at(cron, 'spec.schedule')), /^\d+ \d+ \* \* \*$/, `${idOf(cron)}: once a day`);
      assert.equal(at(cron, 'spec.concurrencyPolicy'), 'Forbid', `${idOf(cron)}: never two at once`);
      for (const field of [
        'spec.startingDeadlineSeconds',
        'spec.jobTemplate.spec.backoffLimit',
        'spec.jobTemplate.spec.activeDeadlineSeconds',
        'spec.jobTemplate.spec.ttlSecondsAfterFinished',
      ])
        assert.equal(typeof at(cron, field), 'number', `${idOf(cron)}: ${field}`);
      for (const field of ['spec.successfulJobsHistoryLimit', 'spec.failedJobsHistoryLimit'])
        assert.ok(Number(at(cron, field)) <= 5, `${idOf(cron)}: ${field} small`);
      assert.equal(podSpecOf(cron)?.['restartPolicy'], 'Never');
      let config: NunchiConfig;
      try {
        config = loadConfig('cli', resolvedEnv(objects, c, idOf(cron)));
      } catch (error) {
        assert.fail(`${idOf(cron)}: ${(error as Error).message}`);
      }
      const service = loadConfig('context', resolvedEnv(objects, mainContainer('context'), 'context'));
      assert.equal(
        at(cron, 'spec.timeZone'),
        config.domain.timeZone,
        `${idOf(cron)}: scheduled in NUNCHI_TIMEZONE, the zone whose Monday closes a week`,
      );
      assert.equal(config.domain.timeZone, service.domain.timeZone, 'the services’ time zone');
      const where = (x: NunchiConfig) => ({ ...x.cassandra, username: undefined, password: undefined });
      assert.deepEqual(where(config), where(service), `${idOf(cron)}: the Cassandra the services use`);
      // the CLI's role (nunchi_operator), its password from its own Secret; no NATS identity (Cassandra only)
      const env = arr(c['env']).map((e) => obj(e, idOf(cron)));
      assert.equal(
        env.find((e) => e['name'] === 'CASSANDRA_USERNAME')?.['value'],
        CASSANDRA_ROLES.operator,
        `${idOf(cron)}: logs in as the operator`,
      );
      assert.deepEqual(
        at(
          env.find((e) => e['name'] === 'CASSANDRA_PASSWORD'),
          'valueFrom.secretKeyRef',
        ),
        { name: 'nunchi-cassandra-operator', key: 'CASSANDRA_PASSWORD' },
        `${idOf(cron)}: the operator's password`,
      );
      assert.equal(config.cassandra.username, CASSANDRA_ROLES.operator);
      assert.ok(
        !env.some((e) => String(e['name']).startsWith('NATS_')),
        `${idOf(cron)}: no NATS identity (it reads and writes Cassandra only)`,
      );
      assert.equal(c['image'], mainContainer('context')['image'], `${idOf(cron)}: the services’ image`);
    });

    it('runs one image everywhere, as a non-root user, with resources and a drain period', () => {
      const images = new Set<string>();
      for (const o of objects) {
        for (const c of containersOf(o).filter(isNunchiContainer)) {
          const where = `${idOf(o)} ${String(c['name'])}`;
          images.add(String(c['image']));
          for (const r of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'])
            assert.ok(at(c, `resources.${r}`) !== undefined, `${where}: resources.${r}`);
          const spec = podSpecOf(o)!;
          assert.equal(at(spec, 'securityContext.runAsNonRoot'), true, `${where}: runAsNonRoot`);
          assert.equal(
            at(c, 'securityContext.allowPrivilegeEscalation'),
            false,
            `${where}: allowPrivilegeEscalation`,
          );
        }
      }
      assert.equal(images.size, 1, `one image for every Nunchi container, got ${[...images].join(', ')}`);
      const image = [...images][0];
      if (typeof expect.image === 'string') assert.equal(image, expect.image, 'image');
      else assert.match(image, expect.image, 'image must be pinned (registry, version tag or digest)');
      for (const svc of SERVICES) {
        const spec = podSpecOf(deployments.get(svc)!)!;
        const grace = Number(spec['terminationGracePeriodSeconds'] ?? 30);
        const preStop = arr(at(mainContainer(svc), 'lifecycle.preStop.exec.command')).map(String);
        const sleep = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
        assert.ok(
          grace - sleep >= 20,
          `${svc}: terminationGracePeriodSeconds ${grace} leaves ${grace - sleep} s to stop consumers and drain NATS`,
        );
      }
    });

    it('autoscales ingestion on CPU and budgets disruptions of existing Deployments', () => {
      const hpas = objects.filter((o) => o['kind'] === 'HorizontalPodAutoscaler');
      if (expect.hpaMin === null) {
        assert.deepEqual(hpas.map(idOf), [], 'no HPA expected');
      } else {
        assert.equal(hpas.length, 1, 'one HPA (ingestion)');
        const hpa = hpas[0];
        const target = find(
          objects,
          String(at(hpa, 'spec.scaleTargetRef.kind')),
          String(at(hpa, 'spec.scaleTargetRef.name')),
        );
        assert.equal(
          target,
          deployments.get('ingestion'),
          `${idOf(hpa)} must target the ingestion Deployment`,
        );
        assert.equal(at(hpa, 'spec.minReplicas'), expect.hpaMin, `${idOf(hpa)} minReplicas`);
        assert.ok(Number(at(hpa, 'spec.maxReplicas')) >= expect.hpaMin, `${idOf(hpa)} maxReplicas`);
        // equal, so that re-applying the manifests does not scale below what the HPA keeps anyway
        assert.equal(
          at(hpa, 'spec.minReplicas'),
          at(target, 'spec.replicas'),
          `${idOf(hpa)} minReplicas equals the Deployment's replicas`,
        );
        assert.ok(
          arr(at(hpa, 'spec.metrics')).some((m) => at(m, 'resource.name') === 'cpu'),
          `${idOf(hpa)} scales on CPU`,
        );
        assert.ok(
          at(mainContainer('ingestion'), 'resources.requests.cpu'),
          'CPU utilisation needs a CPU request',
        );
      }
      const pdbs = objects.filter((o) => o['kind'] === 'PodDisruptionBudget');
      for (const svc of SERVICES) {
        const labels = obj(at(deployments.get(svc), 'spec.template.metadata.labels'), svc);
        const mine = pdbs.filter((p) =>
          Object.entries(obj(at(p, 'spec.selector.matchLabels'), idOf(p))).every(([k, v]) => labels[k] === v),
        );
        assert.equal(mine.length, 1, `${svc}: one PodDisruptionBudget`);
        const pdb = mine[0];
        // minAvailable >= replicas would block every node drain (local runs one replica)
        if (at(pdb, 'spec.minAvailable') !== undefined)
          assert.ok(
            Number(at(pdb, 'spec.minAvailable')) < expect.replicas[svc],
            `${idOf(pdb)} blocks drains`,
          );
      }
      for (const pdb of pdbs) {
        const selected = objects.filter(
          (o) =>
            (o['kind'] === 'Deployment' || o['kind'] === 'StatefulSet') &&
            Object.entries(obj(at(pdb, 'spec.selector.matchLabels'), idOf(pdb))).every(
              ([k, v]) => obj(at(o, 'spec.template.metadata.labels'), idOf(o))[k] === v,
            ),
        );
        assert.equal(selected.length, 1, `${idOf(pdb)} selects exactly one Deployment or StatefulSet`);
      }
    });

    it("validates every object against the Kubernetes API schemas (and KEDA's for ScaledObjects)", async () => {
      for (const o of objects) await validateSchema(o);
    });

    it('scales context and decision on JetStream consumer lag: a KEDA trigger per partition consumer, CPU as fallback', () => {
      const scaled = objects.filter((o) => o['kind'] === 'ScaledObject');
      if (expect.kedaMin === null) {
        assert.deepEqual(scaled.map(idOf), [], 'no ScaledObject expected (no KEDA)');
        return;
      }
      const partitions = Number(
        resolvedEnv(objects, mainContainer('context'), 'context')['NUNCHI_PARTITIONS'] ?? 16,
      );
      for (const [svc, stream] of [
        ['context', 'EVENTS'],
        ['decision', 'ENRICHED'],
      ] as const) {
        const mine = scaled.filter(
          (o) => at(o, 'spec.scaleTargetRef.name') === nameOf(deployments.get(svc)!),
        );
        assert.equal(mine.length, 1, `${svc}: one ScaledObject targets its Deployment`);
        const so = mine[0];
        assert.equal(at(so, 'spec.minReplicaCount'), expect.kedaMin, `${idOf(so)} minReplicaCount`);
        assert.equal(
          at(so, 'spec.minReplicaCount'),
          at(deployments.get(svc), 'spec.replicas'),
          `${idOf(so)}: min = the Deployment's replicas`,
        );
        assert.equal(
          at(so, 'spec.maxReplicaCount'),
          partitions,
          `${idOf(so)}: at most one replica per partition`,
        );
        const triggers = arr(at(so, 'spec.triggers')).map((t) => obj(t, idOf(so)));
        const lag = triggers.filter((t) => t['type'] === 'nats-jetstream');
        assert.deepEqual(
          lag.map((t) => [at(t, 'metadata.stream'), at(t, 'metadata.consumer')]),
          Array.from({ length: partitions }, (_, p) => [stream, `${svc}-p${p}`]),
          `${idOf(so)}: one nats-jetstream trigger per durable consumer ${svc}-p0..p${partitions - 1} (apps/${svc})`,
        );
        for (const t of lag)
          assert.match(
            String(at(t, 'metadata.natsServerMonitoringEndpoint')),
            /^nats\.[a-z-]+\.svc\.cluster\.local:8222$/,
            `${idOf(so)}: NATS monitoring endpoint`,
          );
        assert.ok(
          triggers.some((t) => t['type'] === 'cpu'),
          `${idOf(so)}: a CPU trigger as fallback`,
        );
        assert.ok(
          at(so, 'spec.fallback.replicas'),
          `${idOf(so)}: fallback replicas while lag cannot be read`,
        );
        assert.ok(
          at(mainContainer(svc), 'resources.requests.cpu'),
          `${svc}: CPU utilisation needs a CPU request`,
        );
      }
      assert.ok(
        !objects.some(
          (o) =>
            o['kind'] === 'HorizontalPodAutoscaler' &&
            ['nunchi-context', 'nunchi-decision'].includes(String(at(o, 'spec.scaleTargetRef.name'))),
        ),
        'no HPA of our own next to KEDA on context or decision (KEDA creates it)',
      );
    });

    it('denies by default and opens only the paths of the flow (NetworkPolicies)', () => {
      const policies = objects.filter((o) => o['kind'] === 'NetworkPolicy');
      const ns = { 'kubernetes.io/metadata.name': 'nunchi' };
      const labelsOf = (o: Obj): Labels => {
        const labels = at(podTemplateOf(o), 'metadata.labels');
        return isObj(labels) ? (labels as Labels) : {};
      };
      const podOf = (name: string): Peer => {
        const w = objects.find((o) => podSpecOf(o) && labelsOf(o)['app.kubernetes.io/name'] === name);
        return { pod: w ? labelsOf(w) : { 'app.kubernetes.io/name': name }, ns };
      };
      const outside = (nsLabels: Labels): Peer => ({ pod: { app: 'someone' }, ns: nsLabels });
      assert.ok(
        policies.some(
          (p) =>
            isObj(at(p, 'spec.podSelector')) &&
            Object.keys(at(p, 'spec.podSelector') as Obj).length === 0 &&
            arr(at(p, 'spec.policyTypes')).includes('Ingress') &&
            arr(at(p, 'spec.policyTypes')).includes('Egress') &&
            at(p, 'spec.ingress') === undefined &&
            at(p, 'spec.egress') === undefined,
        ),
        'a default-deny policy (every pod, ingress and egress, no rule)',
      );
      const services = SERVICES.map((s) => podOf(nameOf(deployments.get(s)!)));
      const migrate = podOf('nunchi-migrate');
      const cron = find(objects, 'CronJob', HISTORY_PACK);
      assert.ok(cron, `CronJob ${HISTORY_PACK}`);
      const pack: Peer = { pod: labelsOf(cron), ns };
      const [nats, cassandra, collector, zipkin] = ['nats', 'cassandra', 'otel-collector', 'zipkin'].map(
        podOf,
      );
      const client = outside({ 'nunchi.io/client': 'true' });
      const prometheus = outside({ 'kubernetes.io/metadata.name': 'monitoring' });
      const keda = outside({ 'kubernetes.io/metadata.name': 'keda' });
      const dns = outside({ 'kubernetes.io/metadata.name': 'kube-system' });
      const stranger = outside({ 'kubernetes.io/metadata.name': 'default' });
      const open: Array<[string, Peer, Peer, number]> = [
        ...[...services, migrate].flatMap((s): Array<[string, Peer, Peer, number]> => [
          [`${s.pod['app.kubernetes.io/name']} → nats`, s, nats, 4222],
          [`${s.pod['app.kubernetes.io/name']} → cassandra`, s, cassandra, 9042],
          [`${s.pod['app.kubernetes.io/name']} → DNS`, s, dns, 53],
        ]),
        ...SERVICES.map((svc, i): [string, Peer, Peer, number] => [
          `Prometheus → ${svc}`,
          prometheus,
          services[i],
          portOf(svc),
        ]),
        ...SERVICES.map((svc, i): [string, Peer, Peer, number] => [
          `clients → ${svc}`,
          client,
          services[i],
          portOf(svc),
        ]),
        ['history pack → cassandra', pack, cassandra, 9042],
        ['history pack → DNS', pack, dns, 53],
        ['adapters → nats', client, nats, 4222],
        ['nats → nats (routes)', nats, nats, 6222],
        ['cassandra → cassandra (gossip)', cassandra, cassandra, 7000],
        ['KEDA → nats monitoring', keda, nats, 8222],
        ['clients → zipkin (nunchi slo report)', client, zipkin, 9411],
        ...(expect.collector
          ? [
              ...services.map((s): [string, Peer, Peer, number] => [
                `${s.pod['app.kubernetes.io/name']} → collector`,
                s,
                collector,
                4318,
              ]),
              ['collector → zipkin', collector, zipkin, 9411] as [string, Peer, Peer, number],
              ['Prometheus → collector spanmetrics', prometheus, collector, 8889] as [
                string,
                Peer,
                Peer,
                number,
              ],
            ]
          : services.map((s): [string, Peer, Peer, number] => [
              `${s.pod['app.kubernetes.io/name']} → zipkin`,
              s,
              zipkin,
              9411,
            ])),
      ];
      for (const [what, from, to, port] of open)
        assert.ok(allowed(policies, from, to, port), `open: ${what}:${port}`);
      const closed: Array<[string, Peer, Peer, number]> = [
        [
          'decision → context HTTP (no synchronous calls between services)',
          services[2],
          services[1],
          portOf('context'),
        ],
        ['ingestion → decision HTTP', services[0], services[2], portOf('decision')],
        ['adapters → cassandra', client, cassandra, 9042],
        ['an unlabelled namespace → ingestion', stranger, services[0], portOf('ingestion')],
        ['an unlabelled namespace → nats', stranger, nats, 4222],
        ['decision → the outside world', services[2], stranger, 443],
        ['cassandra → nats', cassandra, nats, 4222],
        ['history pack → nats (Cassandra only)', pack, nats, 4222],
        ['history pack → collector', pack, collector, 4318],
        ['history pack → context HTTP', pack, services[1], portOf('context')],
        ['history pack → the outside world', pack, stranger, 443],
      ];
      for (const [what, from, to, port] of closed)
        assert.ok(!allowed(policies, from, to, port), `closed: ${what}:${port}`);
    });

    it(
      expect.collector
        ? 'deploys the OpenTelemetry Collector the services send to: spanmetrics, tail sampling'
        : 'sends traces straight to Zipkin, without a collector',
      () => {
        const collector = objects.find((o) => o['kind'] === 'Deployment' && nameOf(o) === 'otel-collector');
        if (!expect.collector) {
          assert.equal(collector, undefined, 'no collector');
          return;
        }
        assert.ok(collector, 'Deployment otel-collector');
        assert.equal(
          at(collector, 'spec.replicas'),
          1,
          'one replica: tail sampling needs every span of a trace on one collector',
        );
        const endpoint = new URL(
          resolvedEnv(objects, mainContainer('ingestion'), 'ingestion')['OTEL_EXPORTER_OTLP_ENDPOINT'],
        );
        const service = find(objects, 'Service', endpoint.hostname);
        assert.ok(service, `a Service named ${endpoint.hostname} (OTEL_EXPORTER_OTLP_ENDPOINT)`);
        assert.ok(
          arr(at(service, 'spec.ports')).some((p) => at(p, 'port') === Number(endpoint.port)),
          `${idOf(service)} serves port ${endpoint.port}`,
        );
        assert.deepEqual(
          at(service, 'spec.selector'),
          at(collector, 'spec.selector.matchLabels'),
          `${idOf(service)} selects the collector`,
        );
        const configMap = find(
          objects,
          'ConfigMap',
          String(at(arr(at(collector, 'spec.template.spec.volumes'))[0], 'configMap.name')),
        );
        assert.ok(configMap, 'the collector mounts its ConfigMap');
        const config = obj(parseAllDocuments(dataOf(configMap)['config.yaml'])[0].toJS(), 'collector config');
        assert.ok(at(config, 'connectors.spanmetrics.exemplars.enabled'), 'spanmetrics with exemplars');
        const buckets = arr(at(config, 'connectors.spanmetrics.histogram.explicit.buckets')).map((b) =>
          String(b),
        );
        for (const threshold of ['100ms', '2s'])
          assert.ok(
            buckets.includes(threshold),
            `spanmetrics bucket ${threshold}: an SLO threshold (slo/slo.yaml)`,
          );
        const policies = arr(at(config, 'processors.tail_sampling.policies')).map((p) => obj(p, 'policy'));
        assert.equal(
          policies.find((p) => p['type'] === 'latency')?.['latency'] &&
            at(
              policies.find((p) => p['type'] === 'latency'),
              'latency.threshold_ms',
            ),
          100,
          'keeps traces over the 100 ms SLO',
        );
        assert.ok(
          policies.some(
            (p) => p['type'] === 'status_code' && arr(at(p, 'status_code.status_codes')).includes('ERROR'),
          ),
          'keeps failed traces',
        );
        assert.ok(
          policies.some(
            (p) =>
              p['type'] === 'string_attribute' &&
              at(p, 'string_attribute.key') === 'nunchi.decision.outcome' &&
              arr(at(p, 'string_attribute.values')).includes('late'),
          ),
          'keeps late decisions',
        );
        const pipelines = obj(at(config, 'service.pipelines'), 'pipelines');
        const first = Object.values(pipelines).find((p) => arr(at(p, 'receivers')).includes('otlp'));
        assert.ok(
          arr(at(first, 'exporters')).includes('spanmetrics'),
          'spanmetrics sees every span, before sampling',
        );
        assert.ok(!arr(at(first, 'processors')).includes('tail_sampling'), 'no sampling before spanmetrics');
      },
    );

    it(
      expect.clusters
        ? 'runs NATS (JetStream, 3 nodes) and Cassandra (3 nodes) as StatefulSets, streams replicated 3 times'
        : 'expects NATS and Cassandra from outside the rendering',
      () => {
        const sets = objects.filter((o) => o['kind'] === 'StatefulSet');
        const env = resolvedEnv(objects, mainContainer('context'), 'context');
        const replicas = loadConfig('context', env).nats.streamReplicas;
        if (!expect.clusters) {
          assert.deepEqual(sets.map(idOf), [], 'no StatefulSet');
          assert.equal(replicas, 1, 'stream replicas 1 without a NATS cluster');
          return;
        }
        const nats = sets.find((o) => nameOf(o) === 'nats');
        const cassandra = sets.find((o) => nameOf(o) === 'cassandra');
        assert.equal(at(nats, 'spec.replicas'), 3, 'NATS: 3 servers');
        assert.equal(at(cassandra, 'spec.replicas'), 3, 'Cassandra: 3 nodes');
        const args = arr(at(containersOf(nats!)[0], 'args')).map(String);
        assert.ok(args.includes('--jetstream'), 'NATS runs JetStream');
        const routes =
          args
            .find((a) => a.startsWith('--routes='))
            ?.slice('--routes='.length)
            .split(',') ?? [];
        assert.deepEqual(
          routes.map((r) => r.replace(/\/\/[^@/]*@/, '//')), // their credentials: "NATS routes authenticate"
          [0, 1, 2].map((i) => `nats://nats-${i}.${String(at(nats, 'spec.serviceName'))}:6222`),
          'routes to every server through the headless Service',
        );
        assert.equal(replicas, 3, 'NUNCHI_STREAM_REPLICAS=3: every stream on 3 servers');
        assert.equal(find(objects, 'Service', 'nats')?.['kind'], 'Service', 'Service nats (NATS_URL)');
        assert.equal(
          find(objects, 'Service', 'cassandra')?.['kind'],
          'Service',
          'Service cassandra (CASSANDRA_CONTACT_POINTS)',
        );
        const dc = arr(at(containersOf(cassandra!)[0], 'env')).find((e) => at(e, 'name') === 'CASSANDRA_DC');
        assert.equal(
          at(dc, 'value'),
          loadConfig('context', env).cassandra.localDataCenter,
          'the Cassandra DC is CASSANDRA_LOCAL_DC',
        );
        for (const set of [nats!, cassandra!])
          assert.ok(arr(at(set, 'spec.volumeClaimTemplates')).length > 0, `${idOf(set)}: persistent volumes`);
      },
    );

    const natsServerDir = expect.natsIdentities;
    if (natsServerDir)
      it('each workload connects to NATS as its own identity; the NATS servers run with those users (the generated Secrets)', () => {
        const generated = generatedNatsSecrets().map(nameOf);
        const credentialsOf = (c: Obj, who: string) => {
          const env = arr(c['env']).map((e) => obj(e, who));
          const from = (name: string) =>
            at(
              env.find((e) => e['name'] === name),
              'valueFrom.secretKeyRef',
            ) as Obj | undefined;
          assert.equal(at(from('NATS_USER'), 'key'), 'NATS_USER', `${who}: NATS_USER from a Secret`);
          assert.equal(
            at(from('NATS_NKEY_SEED'), 'key'),
            'NATS_NKEY_SEED',
            `${who}: NATS_NKEY_SEED from a Secret`,
          );
          assert.equal(
            at(from('NATS_USER'), 'name'),
            at(from('NATS_NKEY_SEED'), 'name'),
            `${who}: one Secret`,
          );
          return String(at(from('NATS_USER'), 'name'));
        };
        for (const svc of SERVICES)
          assert.equal(
            credentialsOf(mainContainer(svc), svc),
            natsCredentialsSecret(svc),
            `${svc}: its own identity`,
          );
        const job = find(objects, 'Job', 'nunchi-migrate');
        assert.ok(job, 'the migration Job');
        assert.equal(
          credentialsOf(containersOf(job)[0], 'migrate'),
          natsCredentialsSecret('operator'),
          'the migration manages streams: operator',
        );
        for (const name of [
          ...SERVICES.map(natsCredentialsSecret),
          natsCredentialsSecret('operator'),
          NATS_SERVER_SECRET,
        ])
          assert.ok(generated.includes(name), `npm run nats:config -- --k8s writes the Secret ${name}`);

        const nats = render(join(K8S, natsServerDir)).find(
          (o) => o['kind'] === 'StatefulSet' && nameOf(o) === 'nats',
        )!;
        const server = containersOf(nats)[0];
        const config = arr(server['args'])
          .map(String)
          .find((a) => a.startsWith('--config='))
          ?.slice('--config='.length);
        assert.ok(config, 'nats-server starts with --config (the users and their permissions)');
        const mount = arr(server['volumeMounts'])
          .map((m) => obj(m, 'nats'))
          .find((m) => config.startsWith(`${String(m['mountPath'])}/`));
        assert.ok(mount, `${config} is on a mounted volume`);
        const volume = arr(at(nats, 'spec.template.spec.volumes'))
          .map((v) => obj(v, 'nats'))
          .find((v) => v['name'] === mount['name']);
        assert.equal(
          at(volume, 'secret.secretName'),
          NATS_SERVER_SECRET,
          'mounted from the generated Secret',
        );
      });

    if (expect.clusters)
      it("each workload logs in to Cassandra as its own role; the migration Job as the migrator, with every service role's password", () => {
        // The role's name is a literal (not a secret); its password comes from the Secret named after it.
        const roleOf = (c: Obj, who: string) => {
          const env = arr(c['env']).map((e) => obj(e, who));
          const user = env.find((e) => e['name'] === 'CASSANDRA_USERNAME');
          const ref = at(
            env.find((e) => e['name'] === 'CASSANDRA_PASSWORD'),
            'valueFrom.secretKeyRef',
          ) as Obj | undefined;
          const role = String(user?.['value']);
          assert.equal(at(ref, 'key'), 'CASSANDRA_PASSWORD', `${who}: CASSANDRA_PASSWORD from a Secret`);
          assert.equal(
            at(ref, 'name'),
            `nunchi-cassandra-${role.replace(/^nunchi_/, '')}`,
            `${who}: the Secret of its role`,
          );
          return role;
        };
        for (const svc of SERVICES) {
          assert.equal(roleOf(mainContainer(svc), svc), SERVICE_ROLES[svc], `${svc}: its own role`);
          const env = resolvedEnv(objects, mainContainer(svc), svc);
          assert.equal(loadConfig(svc, env).cassandra.username, SERVICE_ROLES[svc]);
          assert.equal(env['CASSANDRA_ROLE_PASSWORDS_DIR'], undefined, `${svc}: no other role's password`);
        }
        const job = find(objects, 'Job', 'nunchi-migrate')!;
        const c = containersOf(job)[0];
        assert.equal(roleOf(c, 'migrate'), CASSANDRA_ROLES.migrator, 'the migration Job: the migrator');
        const dir = resolvedEnv(objects, c, 'migrate')['CASSANDRA_ROLE_PASSWORDS_DIR'];
        const mount = arr(c['volumeMounts'])
          .map((m) => obj(m, 'migrate'))
          .find((m) => m['mountPath'] === dir);
        assert.ok(mount, `CASSANDRA_ROLE_PASSWORDS_DIR=${dir} is a mounted volume`);
        const volume = arr(at(job, 'spec.template.spec.volumes'))
          .map((v) => obj(v, 'migrate'))
          .find((v) => v['name'] === mount['name']);
        const files = arr(at(volume, 'projected.sources')).flatMap((s) =>
          arr(at(s, 'secret.items')).map((i) => {
            const secret = String(at(s, 'secret.name'));
            assert.equal(at(i, 'key'), 'CASSANDRA_PASSWORD', secret);
            assert.equal(
              `nunchi-cassandra-${String(at(i, 'path')).replace(/^nunchi_/, '')}`,
              secret,
              `${secret}: its password is the file named after its role`,
            );
            return String(at(i, 'path'));
          }),
        );
        assert.deepEqual(files.sort(), [...GRANTED_ROLES].sort(), 'a password file for every service role');
      });

    it('labels everything app.kubernetes.io/name and part-of=nunchi, in the expected namespace', () => {
      for (const o of objects) {
        const labels = obj(at(o, 'metadata.labels'), `${idOf(o)} labels`);
        assert.ok(labels['app.kubernetes.io/name'], `${idOf(o)}: app.kubernetes.io/name`);
        assert.equal(labels['app.kubernetes.io/part-of'], 'nunchi', `${idOf(o)}: app.kubernetes.io/part-of`);
        const template = at(podTemplateOf(o), 'metadata.labels');
        if (template !== undefined) {
          assert.ok(
            obj(template, idOf(o))['app.kubernetes.io/name'],
            `${idOf(o)}: pod label app.kubernetes.io/name`,
          );
          assert.equal(
            obj(template, idOf(o))['app.kubernetes.io/part-of'],
            'nunchi',
            `${idOf(o)}: pod label part-of`,
          );
        }
        if (!CLUSTER_SCOPED.has(String(o['kind'])))
          assert.equal(at(o, 'metadata.namespace'), expect.namespace, `${idOf(o)}: namespace`);
      }
      if (expect.namespace)
        assert.ok(find(objects, 'Namespace', expect.namespace), `Namespace ${expect.namespace} is created`);
    });

    it(
      expect.secretInOutput
        ? 'ships the Secret only as a clearly marked placeholder'
        : 'leaves the Secret out, so that applying never overwrites the real one',
      () => {
        const secrets = objects.filter((o) => o['kind'] === 'Secret');
        if (!expect.secretInOutput) {
          assert.deepEqual(
            secrets.map(idOf),
            [],
            'no Secret in this rendering: it is created outside it (docs/deployment.md)',
          );
          return;
        }
        for (const s of secrets) {
          for (const [k, v] of Object.entries(dataOf(s)))
            assert.match(v, /PLACEHOLDER/, `${idOf(s)}: ${k} must be visibly a placeholder`);
          // nunchi-secrets holds the identity key; nunchi-cassandra-<role>, the password of that Cassandra role
          const key = nameOf(s).startsWith('nunchi-cassandra-')
            ? 'CASSANDRA_PASSWORD'
            : 'NUNCHI_IDENTITY_SECRET';
          assert.ok(dataOf(s)[key], `${idOf(s)}: ${key}`);
        }
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// Authentication of the clusters the production overlay bundles: Cassandra's passwords, roles and client TLS,
// and the NATS cluster's routes. The scripts the manifests hand to the pods (merging cassandra.yaml, the
// superuser's bootstrap) run here, on the files the pod would see (their volumes written to a sandbox).

const PRODUCTION = join(K8S, 'overlays/production');
/** production alone, and with the components that add workloads or change Cassandra's clients */
const PRODUCTION_VARIANTS: string[][] = [
  [],
  ['components/simulation-job'],
  ['components/cassandra-client-tls'],
  ['components/simulation-job', 'components/cassandra-client-tls'],
];
const variantName = (components: string[]) =>
  ['overlays/production', ...components.map((c) => c.replace(/^components\//, '+'))].join(' ');

/** The shape of the image's cassandra.yaml around what the overlay changes (Cassandra 5.0: class parameters). */
const IMAGE_CASSANDRA_YAML = `# Cassandra storage config YAML
cluster_name: 'Test Cluster'
num_tokens: 16
# Authentication backend, implementing IAuthenticator; used to identify users
authenticator:
  class_name : org.apache.cassandra.auth.AllowAllAuthenticator
# MutualTlsAuthenticator can be configured using the following configuration.
#authenticator:
#  class_name : org.apache.cassandra.auth.MutualTlsAuthenticator
#  parameters :
#    validator_class_name: org.apache.cassandra.auth.SpiffeCertificateValidator

# Authorization backend, implementing IAuthorizer
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:7000"
listen_address: localhost
client_encryption_options:
  # Enable client-to-server encryption
  enabled: false
  # optional: true
  keystore: conf/.keystore
  keystore_password: cassandra
# internode_compression controls whether traffic between nodes is compressed.
internode_compression: dc
endpoint_snitch: SimpleSnitch
`;

/** Values given to the Secrets a sandbox writes (instead of the templates' placeholders). */
const TEST_SECRETS: Record<string, Record<string, string>> = {
  'nunchi-cassandra-admin': { CASSANDRA_PASSWORD: 'admin-password-from-its-secret' },
  'nunchi-cassandra-migrator': { CASSANDRA_PASSWORD: 'migrator-password-from-its-secret' },
  'cassandra-tls': {
    'keystore.p12': 'a PKCS#12 key store',
    'truststore.p12': 'a PKCS#12 trust store',
    'store-password': 'store-password-from-its-secret',
    'ca.crt': '-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n',
  },
};

interface Sandbox {
  root: string;
  /** a path in the container → where it is in the sandbox (unchanged when no mount holds it) */
  path(p: string): string;
  /** every mount path in a text → the sandbox's, and back */
  toSandbox(text: string): string;
  fromSandbox(text: string): string;
  cleanup(): void;
}

/** The volume mounted at or above `file` in `container`, and the path of `file` inside that volume. */
function volumeFileAt(
  workload: Obj,
  container: Obj,
  file: string,
): { volume: Obj; inVolume: string } | undefined {
  const mounts = arr(container['volumeMounts'])
    .map((m) => obj(m, idOf(workload)))
    .filter((m) => file.startsWith(`${String(m['mountPath'])}/`))
    .sort((a, b) => String(b['mountPath']).length - String(a['mountPath']).length);
  const mount = mounts[0];
  if (!mount) return undefined;
  const volume = arr(podSpecOf(workload)?.['volumes'])
    .map((v) => obj(v, idOf(workload)))
    .find((v) => v['name'] === mount['name']);
  return volume ? { volume, inVolume: file.slice(String(mount['mountPath']).length + 1) } : undefined;
}

/** The Secret key a mounted file comes from, if it comes from one (a secret or projected volume). */
function secretKeyAt(
  workload: Obj,
  container: Obj,
  file: string,
): { secret: string; key: string } | undefined {
  const found = volumeFileAt(workload, container, file);
  if (!found) return undefined;
  const sources = found.volume['secret']
    ? [{ secret: { ...obj(found.volume['secret'], 'secret'), name: at(found.volume, 'secret.secretName') } }]
    : arr(at(found.volume, 'projected.sources'));
  for (const s of sources) {
    if (!at(s, 'secret')) continue;
    const items = arr(at(s, 'secret.items'));
    const item = items.find((i) => at(i, 'path') === found.inVolume);
    if (item) return { secret: String(at(s, 'secret.name')), key: String(at(item, 'key')) };
    if (items.length === 0) return { secret: String(at(s, 'secret.name')), key: found.inVolume };
  }
  return undefined;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A container's volumes as files in a temporary directory — ConfigMap data, Secrets (TEST_SECRETS, else the
 * templates under k8s/), projected sources, empty directories — with every mount path in the ConfigMaps' text
 * pointed at the sandbox, so that a script of the manifests runs here on what the pod would see.
 */
function sandboxFor(objects: Obj[], workload: Obj, container: Obj): Sandbox {
  const where = `${idOf(workload)} container ${String(container['name'])}`;
  const root = mkdtempSync(join(tmpdir(), 'nunchi-k8s-sandbox-'));
  const mounts = arr(container['volumeMounts']).map((m, i) => ({
    mount: obj(m, where),
    dir: join(root, `mount-${i}`),
  }));
  const byLength = [...mounts].sort(
    (a, b) => String(b.mount['mountPath']).length - String(a.mount['mountPath']).length,
  );
  // one pass (a replaced path is not replaced again), longest paths first
  const replaceAll = (text: string, pairs: Array<[string, string]>) => {
    if (pairs.length === 0) return text;
    const to = new Map(pairs);
    const alternatives = pairs.map(([from]) => escapeRegExp(from)).join('|');
    return text.replace(
      new RegExp(`(?<![\\w./-])(${alternatives})(?=[/\\s'"@:]|$)`, 'gm'),
      (from) => to.get(from) ?? from,
    );
  };
  const toSandbox = (text: string) =>
    replaceAll(
      text,
      byLength.map((m) => [String(m.mount['mountPath']), m.dir]),
    );
  const fromSandbox = (text: string) =>
    replaceAll(
      text,
      byLength.map((m) => [m.dir, String(m.mount['mountPath'])]),
    );
  const volumes = arr(podSpecOf(workload)?.['volumes']).map((v) => obj(v, where));
  for (const { mount, dir } of mounts) {
    mkdirSync(dir, { recursive: true });
    const volume = volumes.find((v) => v['name'] === mount['name']);
    assert.ok(volume, `${where}: volume ${String(mount['name'])} is mounted but not defined`);
    const write = (kind: 'ConfigMap' | 'Secret', name: string, items: unknown) => {
      const data =
        kind === 'Secret' && TEST_SECRETS[name]
          ? TEST_SECRETS[name]
          : dataOf(source(objects, kind, name, where));
      const pairs = Array.isArray(items)
        ? items.map((i) => [String(at(i, 'key')), String(at(i, 'path'))] as const)
        : Object.keys(data).map((k) => [k, k] as const);
      for (const [key, path] of pairs) {
        assert.ok(data[key] !== undefined, `${where}: ${kind} ${name} has no key ${key}`);
        writeFileSync(join(dir, path), kind === 'ConfigMap' ? toSandbox(data[key]) : data[key]);
      }
    };
    if (volume['configMap'])
      write('ConfigMap', String(at(volume, 'configMap.name')), at(volume, 'configMap.items'));
    else if (volume['secret'])
      write('Secret', String(at(volume, 'secret.secretName')), at(volume, 'secret.items'));
    for (const s of arr(at(volume, 'projected.sources'))) {
      if (at(s, 'configMap')) write('ConfigMap', String(at(s, 'configMap.name')), at(s, 'configMap.items'));
      if (at(s, 'secret')) write('Secret', String(at(s, 'secret.name')), at(s, 'secret.items'));
    }
  }
  return {
    root,
    path: (p) => toSandbox(p),
    toSandbox,
    fromSandbox,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The short name of a class setting of cassandra.yaml (`X` or `{class_name: org.apache.cassandra.auth.X}`). */
const cassandraClass = (v: unknown): string | undefined =>
  (typeof v === 'string' ? v : str(at(v, 'class_name')))?.replace(/^org\.apache\.cassandra\.auth\./, '');

/**
 * What the bundled Cassandra's nodes run with: the StatefulSet's init container's script run here on a
 * cassandra.yaml of the image's shape, with the pod's volumes; the result parsed (a duplicate key fails).
 */
function mergedCassandraYaml(objects: Obj[]): { config: Obj; set: Obj; node: Obj } {
  const set = find(objects, 'StatefulSet', 'cassandra');
  assert.ok(set, 'the StatefulSet cassandra');
  const node = obj(arr(at(set, 'spec.template.spec.containers'))[0], 'cassandra');
  const confMount = arr(node['volumeMounts'])
    .map((m) => obj(m, 'cassandra'))
    .find((m) => m['mountPath'] === '/etc/cassandra');
  assert.ok(
    confMount,
    "Cassandra runs with the image's own /etc/cassandra: no authenticator (its environment cannot set one)",
  );
  const init = arr(at(set, 'spec.template.spec.initContainers'))
    .map((c) => obj(c, 'cassandra init'))
    .find((c) => arr(c['volumeMounts']).some((m) => at(m, 'name') === confMount['name']));
  assert.ok(
    init,
    `an init container prepares the volume ${String(confMount['name'])} mounted on /etc/cassandra`,
  );
  assert.equal(init['image'], node['image'], 'the configuration is made from the same image');
  const box = sandboxFor(objects, set, init);
  try {
    const image = join(box.root, 'image-conf');
    mkdirSync(image);
    writeFileSync(join(image, 'cassandra.yaml'), IMAGE_CASSANDRA_YAML);
    writeFileSync(join(image, 'cassandra-rackdc.properties'), 'dc=dc1\nrack=rack1\n');
    const command = [...arr(init['command']), ...arr(init['args'])].map(String);
    assert.equal(command[0], 'sh', 'the init container runs a shell script');
    const argv = command.slice(1).map((a) => (a === '/etc/cassandra' ? image : box.path(a)));
    const run = spawnSync('sh', argv, { encoding: 'utf8' });
    assert.equal(run.status, 0, `${command.join(' ')}:\n${run.stdout}${run.stderr}`);
    const outMount = arr(init['volumeMounts']).find((m) => at(m, 'name') === confMount['name']);
    const out = box.path(String(at(outMount, 'mountPath')));
    assert.ok(
      existsSync(join(out, 'cassandra-rackdc.properties')),
      'the rest of the image’s configuration is kept',
    );
    const text = box.fromSandbox(readFileSync(join(out, 'cassandra.yaml'), 'utf8'));
    return { config: obj(parse(text, { version: '1.1', uniqueKeys: true }), 'cassandra.yaml'), set, node };
  } finally {
    box.cleanup();
  }
}

/** A stand-in for cqlsh that records who ran which statement; nunchi_admin logs in once it was created. */
const CQLSH_STAND_IN = `#!/bin/sh
user='' pass='' stmt='' ssl=no
while [ $# -gt 0 ]; do
  case $1 in
    -u) user=$2; shift 2 ;;
    -p) pass=$2; shift 2 ;;
    -e) stmt=$2; shift 2 ;;
    --ssl) ssl=yes; shift ;;
    *) shift ;;
  esac
done
printf '%s\\t%s\\t%s\\t%s\\n' "$user" "$ssl" "\${SSL_CERTFILE:-}" "$stmt" >> "$STUB_DIR/log"
refuse() { echo "Connection error: ('Unable to connect to any servers', {'10.0.0.1:9042': AuthenticationFailed('Bad credentials')})" >&2; exit 1; }
case $user in
  nunchi_admin) [ -f "$STUB_DIR/admin" ] && [ "$(cat "$STUB_DIR/admin")" = "$pass" ] || refuse ;;
  cassandra) [ ! -f "$STUB_DIR/cassandra-disabled" ] && [ "$pass" = cassandra ] || refuse ;;
  *) refuse ;;
esac
case $stmt in
  "CREATE ROLE IF NOT EXISTS nunchi_admin "*) printf '%s' "$stmt" | sed -n "s/.*PASSWORD = '\\(.*\\)'.*/\\1/p" > "$STUB_DIR/admin" ;;
  "ALTER ROLE cassandra "*) touch "$STUB_DIR/cassandra-disabled" ;;
  "SELECT role FROM system_auth.roles WHERE role = 'cassandra'") printf '\\n role\\n-----------\\n cassandra\\n\\n(1 rows)\\n' ;;
  "SELECT keyspace_name FROM system_schema.keyspaces"*)
    if [ -f "$STUB_DIR/keyspace" ]; then printf '\\n keyspace_name\\n---------\\n %s\\n\\n(1 rows)\\n' "$(cat "$STUB_DIR/keyspace")"; else printf '\\n keyspace_name\\n---------\\n\\n(0 rows)\\n'; fi ;;
esac
`;

interface BootstrapRun {
  status: number | null;
  output: string;
  /** [user, ssl, SSL_CERTFILE, statement] */
  statements: Array<[string, string, string, string]>;
}

/** Runs the migration Job's bootstrap init container's script with CQLSH_STAND_IN, `runs` times in a row. */
function runBootstrap(
  objects: Obj[],
  scenario: { runs: number; keyspaceExists?: boolean; adminKnownAs?: string; builtinDisabled?: boolean },
): { runs: BootstrapRun[]; init: Obj; job: Obj; box: Sandbox } {
  const job = find(objects, 'Job', 'nunchi-migrate');
  assert.ok(job, 'the migration Job');
  const init = arr(at(job, 'spec.template.spec.initContainers'))
    .map((c) => obj(c, 'migrate init'))
    .find((c) => c['name'] === 'cassandra-bootstrap');
  assert.ok(init, 'the migration Job bootstraps the roles first (init container cassandra-bootstrap)');
  const box = sandboxFor(objects, job, init);
  const stub = join(box.root, 'stub');
  mkdirSync(stub);
  writeFileSync(join(stub, 'cqlsh'), CQLSH_STAND_IN, { mode: 0o755 });
  if (scenario.adminKnownAs) writeFileSync(join(stub, 'admin'), scenario.adminKnownAs);
  if (scenario.keyspaceExists) writeFileSync(join(stub, 'keyspace'), 'nunchi');
  if (scenario.builtinDisabled) writeFileSync(join(stub, 'cassandra-disabled'), '');
  const env = Object.fromEntries(
    Object.entries(resolvedEnv(objects, init, idOf(job))).map(([k, v]) => [k, box.path(v)]),
  );
  const command = [...arr(init['command']), ...arr(init['args'])].map(String);
  const runs: BootstrapRun[] = [];
  for (let i = 0; i < scenario.runs; i++) {
    rmSync(join(stub, 'log'), { force: true });
    const run = spawnSync(command[0], command.slice(1).map(box.path), {
      encoding: 'utf8',
      env: {
        ...env,
        PATH: `${stub}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
        STUB_DIR: stub,
        TMPDIR: env['HOME'] ?? box.path('/tmp'),
        CASSANDRA_BOOTSTRAP_WAIT_SECONDS: '0',
      },
    });
    const log = existsSync(join(stub, 'log')) ? readFileSync(join(stub, 'log'), 'utf8') : '';
    runs.push({
      status: run.status,
      output: run.stdout + run.stderr,
      statements: log
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t') as [string, string, string, string]),
    });
  }
  return { runs, init, job, box };
}

describe('k8s/overlays/production: the bundled Cassandra asks for passwords, and grants by role', () => {
  it('Cassandra runs with PasswordAuthenticator and CassandraAuthorizer, Paxos v2 and the grouped writes’ batch thresholds (the init container merges them into the image’s cassandra.yaml)', () => {
    for (const components of PRODUCTION_VARIANTS) {
      const { config } = mergedCassandraYaml(render(PRODUCTION, components));
      const where = variantName(components);
      assert.equal(
        cassandraClass(config['authenticator']),
        'PasswordAuthenticator',
        `${where}: authenticator`,
      );
      assert.equal(cassandraClass(config['authorizer']), 'CassandraAuthorizer', `${where}: authorizer`);
      assert.equal(cassandraClass(config['role_manager']), 'CassandraRoleManager', `${where}: role_manager`);
      assert.equal(config['paxos_variant'], 'v2', `${where}: lightweight transactions on Paxos v2`);
      assert.equal(
        config['batch_size_warn_threshold'],
        '64KiB',
        `${where}: grouped writes are not warned about`,
      );
      assert.equal(
        config['unlogged_batch_across_partitions_warn_threshold'],
        256,
        `${where}: … nor their partitions`,
      );
      assert.equal(config['cluster_name'], 'Test Cluster', `${where}: the image's other settings are kept`);
      assert.equal(config['endpoint_snitch'], 'SimpleSnitch', `${where}: … after the merged blocks too`);
    }
  });

  it("every Nunchi workload logs in to Cassandra as a role, with the password of that role's Secret", () => {
    for (const components of PRODUCTION_VARIANTS) {
      const objects = render(PRODUCTION, components);
      for (const o of objects) {
        for (const c of containersOf(o).filter(isNunchiContainer)) {
          const where = `${variantName(components)} ${idOf(o)} ${String(c['name'])}`;
          const env = arr(c['env']).map((e) => obj(e, where));
          const role = str(env.find((e) => e['name'] === 'CASSANDRA_USERNAME')?.['value']);
          assert.match(role ?? '', /^nunchi_[a-z]+$/, `${where}: CASSANDRA_USERNAME names its role`);
          const secret = `nunchi-cassandra-${role!.replace(/^nunchi_/, '')}`;
          const ref = at(
            env.find((e) => e['name'] === 'CASSANDRA_PASSWORD'),
            'valueFrom.secretKeyRef',
          );
          const file = str(env.find((e) => e['name'] === 'CASSANDRA_PASSWORD_FILE')?.['value']);
          const from = ref
            ? { secret: String(at(ref, 'name')), key: String(at(ref, 'key')) }
            : file
              ? secretKeyAt(o, c, file)
              : undefined;
          assert.deepEqual(
            from,
            { secret, key: 'CASSANDRA_PASSWORD' },
            `${where}: the password of ${role} comes from the Secret ${secret} (CASSANDRA_PASSWORD or a mounted CASSANDRA_PASSWORD_FILE)`,
          );
          assert.ok(
            SECRET_TEMPLATES.has(secret),
            `${where}: k8s/base/secret.yaml documents the Secret ${secret}`,
          );
        }
      }
    }
  });

  it('every role of cql/roles/grants.cql has a Secret, and is created: the service roles by `nunchi migrate` with it, their grantor (the migrator) by the bootstrap', () => {
    const grants = readFileSync(join(ROOT, 'cql', GRANTS_FILE), 'utf8');
    const granted = [...new Set([...grants.matchAll(/^GRANT .* TO (\w+);/gm)].map((m) => m[1]))].sort();
    assert.deepEqual(
      granted,
      [...GRANTED_ROLES].sort(),
      'the roles `nunchi migrate` creates are those granted',
    );
    const objects = render(PRODUCTION);
    const job = find(objects, 'Job', 'nunchi-migrate')!;
    const migrate = containersOf(job).find((c) => entryPointOf(c)?.app === 'cli')!;
    const dir = resolvedEnv(objects, migrate, 'migrate')['CASSANDRA_ROLE_PASSWORDS_DIR'];
    for (const role of [...granted, CASSANDRA_ROLES.migrator, 'nunchi_admin']) {
      const secret = `nunchi-cassandra-${role.replace(/^nunchi_/, '')}`;
      assert.ok(
        dataOf(SECRET_TEMPLATES.get(secret) ?? {})['CASSANDRA_PASSWORD'],
        `${role}: a Secret ${secret} with CASSANDRA_PASSWORD (template in k8s/base/secret.yaml)`,
      );
      if (granted.includes(role))
        assert.deepEqual(
          secretKeyAt(job, migrate, `${dir}/${role}`),
          { secret, key: 'CASSANDRA_PASSWORD' },
          `${role}: \`nunchi migrate\` sets its password from ${secret} (CASSANDRA_ROLE_PASSWORDS_DIR/${role})`,
        );
    }

    // A new cluster: the built-in superuser once, replaced by nunchi_admin; then the migrator.
    const first = runBootstrap(objects, { runs: 2 });
    try {
      const [fresh, again] = first.runs;
      assert.equal(fresh.status, 0, fresh.output);
      const replication = resolvedEnv(objects, first.init, 'bootstrap')['CASSANDRA_REPLICATION'];
      const by = (run: BootstrapRun, user: string) =>
        run.statements.filter((s) => s[0] === user).map((s) => s[3]);
      assert.deepEqual(
        by(fresh, 'cassandra'),
        [
          'SELECT role FROM system_auth.roles LIMIT 1',
          `ALTER KEYSPACE system_auth WITH replication = ${replication}`,
          "CREATE ROLE IF NOT EXISTS nunchi_admin WITH SUPERUSER = true AND LOGIN = true AND PASSWORD = 'admin-password-from-its-secret'",
        ],
        'the built-in superuser makes nunchi_admin, with the password of the Secret nunchi-cassandra-admin, after replicating system_auth',
      );
      const asAdmin = by(fresh, 'nunchi_admin');
      for (const statement of [
        'ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false',
        `ALTER KEYSPACE system_auth WITH replication = ${replication}`,
        'CREATE ROLE IF NOT EXISTS nunchi_migrator WITH LOGIN = true',
        "ALTER ROLE nunchi_migrator WITH PASSWORD = 'migrator-password-from-its-secret'",
        'GRANT CREATE ON ALL KEYSPACES TO nunchi_migrator',
        'GRANT CREATE ON ALL ROLES TO nunchi_migrator',
      ])
        assert.ok(asAdmin.includes(statement), `as nunchi_admin: ${statement}\n${asAdmin.join('\n')}`);
      assert.equal(again.status, 0, again.output);
      assert.deepEqual(
        by(again, 'cassandra'),
        [],
        'the second time, the disabled built-in superuser is not used',
      );
      assert.ok(
        by(again, 'nunchi_admin').includes(
          "ALTER ROLE nunchi_migrator WITH PASSWORD = 'migrator-password-from-its-secret'",
        ),
      );
    } finally {
      first.box.cleanup();
    }

    // A keyspace made before authentication: handed to the migrator.
    const existing = runBootstrap(objects, {
      runs: 1,
      keyspaceExists: true,
      adminKnownAs: 'admin-password-from-its-secret',
    });
    try {
      assert.equal(existing.runs[0].status, 0, existing.runs[0].output);
      assert.ok(
        existing.runs[0].statements.some(
          (s) => s[3] === 'GRANT ALL PERMISSIONS ON KEYSPACE nunchi TO nunchi_migrator',
        ),
      );
    } finally {
      existing.box.cleanup();
    }

    // The Secret's password is not the one nunchi_admin has (and the built-in superuser is disabled): stops,
    // naming the Secret, having changed nothing.
    const wrong = runBootstrap(objects, {
      runs: 1,
      adminKnownAs: 'another-password-altogether',
      builtinDisabled: true,
    });
    try {
      const [run] = wrong.runs;
      assert.notEqual(run.status, 0, 'the bootstrap fails');
      assert.match(run.output, /refused nunchi_admin's password \(Secret nunchi-cassandra-admin\)/);
      assert.ok(
        run.statements.every((st) => st[3].startsWith('SELECT ')),
        'nothing changed',
      );
    } finally {
      wrong.box.cleanup();
    }
  });

  it('client-to-node TLS (component cassandra-client-tls): the nodes take TLS only, with the stores of the Secret; every client verifies them against its CA', () => {
    for (const components of PRODUCTION_VARIANTS.filter((c) =>
      c.includes('components/cassandra-client-tls'),
    )) {
      const objects = render(PRODUCTION, components);
      const where = variantName(components);
      const { config, set, node } = mergedCassandraYaml(objects);
      const tls = obj(config['client_encryption_options'], `${where}: client_encryption_options`);
      assert.equal(tls['enabled'], true, `${where}: client encryption on`);
      assert.equal(tls['optional'], false, `${where}: plain connections refused`);
      for (const [store, key] of [
        ['keystore', 'keystore.p12'],
        ['truststore', 'truststore.p12'],
      ] as const) {
        assert.deepEqual(
          secretKeyAt(set, node, String(tls[store])),
          { secret: 'cassandra-tls', key },
          `${where}: ${store} ${String(tls[store])} is the Secret cassandra-tls's ${key}, mounted in the node`,
        );
        assert.equal(
          tls[`${store}_password`],
          TEST_SECRETS['cassandra-tls']['store-password'],
          `${where}: ${store}_password read from the Secret when the configuration is made`,
        );
      }
      for (const o of objects) {
        const spec = podSpecOf(o);
        if (!spec) continue;
        const nunchi = containersOf(o).filter(isNunchiContainer);
        const bootstrap = arr(spec['initContainers'])
          .map((c) => obj(c, idOf(o)))
          .filter((c) => c['name'] === 'cassandra-bootstrap');
        for (const c of [...nunchi, ...bootstrap]) {
          const who = `${where} ${idOf(o)} ${String(c['name'])}`;
          const env = resolvedEnv(objects, c, who);
          const ca = env['CASSANDRA_TLS_CA_FILE'];
          assert.ok(ca, `${who}: CASSANDRA_TLS_CA_FILE`);
          assert.deepEqual(
            secretKeyAt(o, c, ca),
            { secret: 'cassandra-tls', key: 'ca.crt' },
            `${who}: ${ca} mounted`,
          );
          if (!isNunchiContainer(c)) continue;
          const caFile = join(mkdtempSync(join(tmpdir(), 'nunchi-ca-')), 'ca.crt');
          writeFileSync(caFile, TEST_SECRETS['cassandra-tls']['ca.crt']);
          try {
            // a service, or the CLI (the migration, the simulation's `sh -c "exec node …/cli/…"`)
            const app = SERVICES.find((x) => x === entryPointOf(c)?.app) ?? 'cli';
            const loaded = loadConfig(app, {
              ...env,
              CASSANDRA_TLS_CA_FILE: caFile,
            });
            assert.equal(loaded.cassandra.tls?.caFile, caFile, `${who}: TLS to Cassandra`);
            assert.equal(
              loaded.cassandra.tls?.verifyHostname,
              false,
              `${who}: checked against the CA, not the pod IP`,
            );
          } finally {
            rmSync(dirname(caFile), { recursive: true, force: true });
          }
        }
        // the nodes' private key stays with the nodes
        if (nameOf(o) !== 'cassandra')
          for (const v of arr(spec['volumes']))
            assert.ok(
              !arr(at(v, 'secret.items')).some((i) => at(i, 'key') === 'keystore.p12'),
              `${where} ${idOf(o)} mounts the nodes' key store`,
            );
      }
      const { runs, box } = runBootstrap(objects, { runs: 1 });
      try {
        assert.equal(runs[0].status, 0, runs[0].output);
        for (const [user, ssl, certfile] of runs[0].statements) {
          assert.equal(ssl, 'yes', `${where}: the bootstrap's cqlsh (${user}) connects with --ssl`);
          assert.ok(certfile && existsSync(certfile), `${where}: … and SSL_CERTFILE (the CA) is mounted`);
        }
      } finally {
        box.cleanup();
      }
    }
  });
});

describe('k8s/overlays/production: the NATS cluster admits only its own servers', () => {
  it('NATS routes authenticate with the user and password of the Secret nunchi-nats-route (generated with the identities)', () => {
    const objects = render(join(K8S, 'overlays/production'));
    const nats = find(objects, 'StatefulSet', 'nats');
    assert.ok(nats, 'the NATS StatefulSet');
    const server = containersOf(nats)[0];
    const args = arr(server['args']).map(String);
    const env = arr(server['env']).map((e) => obj(e, 'nats'));
    const fromSecret = (name: string) => {
      const ref = at(
        env.find((e) => e['name'] === name),
        'valueFrom.secretKeyRef',
      );
      return ref ? { secret: String(at(ref, 'name')), key: String(at(ref, 'key')) } : undefined;
    };
    const credentialsOf = (url: string, what: string) => {
      const m = /^nats:\/\/\$\((\w+)\):\$\((\w+)\)@[^@]+$/.exec(url);
      assert.ok(m, `${what} ${url}: no route authorization (nats://$(USER_VAR):$(PASSWORD_VAR)@host:port)`);
      assert.deepEqual(
        fromSecret(m[1]),
        { secret: NATS_ROUTE_SECRET, key: 'NATS_ROUTE_USER' },
        `${what}: user`,
      );
      assert.deepEqual(
        fromSecret(m[2]),
        { secret: NATS_ROUTE_SECRET, key: 'NATS_ROUTE_PASSWORD' },
        `${what}: password`,
      );
    };
    const cluster = args.find((a) => a.startsWith('--cluster='));
    assert.ok(cluster, 'nats-server listens for routes (--cluster)');
    credentialsOf(cluster.slice('--cluster='.length), 'the routes listener (--cluster) asks for');
    const routes =
      args
        .find((a) => a.startsWith('--routes='))
        ?.slice('--routes='.length)
        .split(',') ?? [];
    assert.equal(routes.length, 3, 'routes to the three servers');
    for (const r of routes) credentialsOf(r, 'a route presents');
    const generated = generatedNatsSecrets().find((o) => nameOf(o) === NATS_ROUTE_SECRET);
    assert.ok(generated, `npm run nats:config -- --k8s writes the Secret ${NATS_ROUTE_SECRET}`);
    assert.deepEqual(Object.keys(dataOf(generated)).sort(), ['NATS_ROUTE_PASSWORD', 'NATS_ROUTE_USER']);
  });
});

describe('k8s/: mounted secrets are readable by the process that needs them', () => {
  it('a Secret mounted with a mode that the world cannot read is readable by its container (root, or the pod’s fsGroup)', () => {
    const renderings: Array<[string, Obj[]]> = [
      ...Object.keys(RENDERINGS).map((n): [string, Obj[]] => [n, render(join(K8S, n))]),
      ...PRODUCTION_VARIANTS.filter((c) => c.length > 0).map((c): [string, Obj[]] => [
        variantName(c),
        render(PRODUCTION, c),
      ]),
    ];
    for (const [name, objects] of renderings) {
      for (const o of objects) {
        const spec = podSpecOf(o);
        if (!spec) continue;
        for (const v of arr(spec['volumes']).map((x) => obj(x, idOf(o)))) {
          const secretMode = at(v, 'secret') ? at(v, 'secret.defaultMode') : at(v, 'projected.defaultMode');
          const holdsSecret =
            at(v, 'secret') !== undefined || arr(at(v, 'projected.sources')).some((s) => at(s, 'secret'));
          if (!holdsSecret) continue;
          const mode = Number(secretMode ?? 0o644);
          if (mode & 0o004) continue;
          for (const c of containersOf(o).filter((x) =>
            arr(x['volumeMounts']).some((m) => at(m, 'name') === v['name']),
          )) {
            const uid = at(c, 'securityContext.runAsUser') ?? at(spec, 'securityContext.runAsUser');
            assert.ok(
              uid === undefined || uid === 0 || at(spec, 'securityContext.fsGroup') !== undefined,
              `${name} ${idOf(o)} ${String(c['name'])}: volume ${String(v['name'])} (mode ${mode.toString(8)}, owned by root) is unreadable by uid ${String(uid)}: set the pod's fsGroup`,
            );
          }
        }
      }
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('builds on Node 24 (a maintained LTS), bookworm-slim, and runs as the user the manifests expect', () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/m);
    assert.match(
      dockerfile,
      /^ENV[^\n]*(\\\n[^\n]*)*NUNCHI_HTTP_HOST=0\.0\.0\.0/m,
      'ENV NUNCHI_HTTP_HOST=0.0.0.0',
    );
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    assert.ok(users.length > 0, 'the image sets USER');
    const user = users[users.length - 1];
    assert.match(user, /^\d+(:\d+)?$/, 'a numeric USER, so that runAsNonRoot can be verified');
    for (const dir of Object.keys(RENDERINGS)) {
      for (const o of render(join(K8S, dir)).filter((x) => containersOf(x).some(isNunchiContainer))) {
        assert.equal(
          String(at(podSpecOf(o), 'securityContext.runAsUser')),
          user.split(':')[0],
          `${dir} ${idOf(o)}: runAsUser equals the image's USER`,
        );
      }
    }
  });

  it('copies what the services and the migration Job read at run time', () => {
    for (const what of ['dist', 'cql', 'campaigns', 'bin', 'node_modules', 'package.json', 'slo/slo.yaml']) {
      assert.match(
        dockerfile,
        new RegExp(`^COPY --from=build /app/${what} `, 'm'),
        `the runtime stage copies ${what}`,
      );
    }
    assert.match(dockerfile, /npm ci/);
    assert.match(dockerfile, /npm prune --omit=dev/);
  });

  it('.dockerignore keeps the build context small without dropping sources', () => {
    for (const must of ['node_modules', 'dist', '.nunchi', '.git', 'bench/results'])
      assert.ok(ignore.includes(must), `.dockerignore: ${must}`);
    for (const keep of [
      'apps',
      'libs',
      'cql',
      'campaigns',
      'bin',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      '.npmrc',
    ]) {
      assert.ok(
        !ignore.includes(keep) && !ignore.includes(`${keep}/`),
        `.dockerignore must not exclude ${keep}`,
      );
    }
  });
});
