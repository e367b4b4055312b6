import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { natsAuthDir, natsSeedFile, projectPath } from '@nunchi/config';
import {
  DEFAULT_CHANNELS,
  natsIdentities,
  renderNatsServerConfig,
  type NatsClusterOptions,
  type NatsCredential,
  type NatsIdentity,
} from '@nunchi/messaging';

/**
 * The project's NATS identities on this machine: one nkey per service, channel adapter and the operator, each
 * seed in `<dir>/<identity>.nk` (readable by its owner only), where `dir` is NUNCHI_NATS_AUTH_DIR or
 * `.nunchi/nats-auth` (gitignored). Seeds already there are kept, so generating again after a change of
 * permissions locks nobody out; delete a seed (or the directory) to rotate it, then restart the servers and
 * processes that use it (docs/security.md). Every NATS server the project starts — infra:up's, the test
 * runner's, the demo's and the benchmarks' (tools/sandbox.ts), chaos's, the cluster's — runs with the
 * configuration rendered from these, and every process it starts connects with its own seed (libs/config
 * reads NATS_NKEY_SEED_FILE, or the seed of its own identity from this directory).
 */
export interface NatsAuth {
  dir: string;
  identities: NatsIdentity[];
  /** public key (U…) of each identity */
  publicKeys: Record<string, string>;
  /** the seed file of an identity */
  seedFile(user: string): string;
  /** each identity's seed (for Kubernetes Secrets) */
  seeds(): Record<string, string>;
  /** A server configuration with these identities: JetStream in `storeDir`, the client port, routes in a cluster. */
  serverConfig(options: ServerOptions): string;
  /** The same, written to `file` (readable by its owner only); returns `file`. */
  writeServerConfig(file: string, options: ServerOptions): string;
  /** the routes' own user and password (a cluster), kept in `<dir>/cluster-route.secret` */
  routeCredentials(): { user: string; password: string };
}

export interface ServerOptions {
  storeDir?: string;
  host?: string;
  port?: number;
  serverName?: string;
  cluster?: NatsClusterOptions;
}

export function ensureNatsAuth(
  options: { dir?: string; channels?: readonly string[]; env?: Record<string, string | undefined> } = {},
): NatsAuth {
  const dir = options.dir ?? natsAuthDir(options.env) ?? projectPath('.nunchi', 'nats-auth');
  const identities = natsIdentities(options.channels ?? DEFAULT_CHANNELS);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const publicKeys: Record<string, string> = {};
  for (const { user } of identities) {
    const file = natsSeedFile(dir, user);
    let seed = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    if (!seed) {
      seed = new TextDecoder().decode(nkeys.createUser().getSeed());
      writeSecret(file, `${seed}\n`);
    }
    publicKeys[user] = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  }
  const credentials: Record<string, NatsCredential> = Object.fromEntries(
    Object.entries(publicKeys).map(([user, nkey]) => [user, { nkey }]),
  );
  return {
    dir,
    identities,
    publicKeys,
    seedFile: (user) => natsSeedFile(dir, user),
    seeds: () =>
      Object.fromEntries(
        identities.map(({ user }) => [user, readFileSync(natsSeedFile(dir, user), 'utf8').trim()]),
      ),
    serverConfig(o) {
      const extra = [
        ...(o.serverName ? [`server_name: ${JSON.stringify(o.serverName)}`] : []),
        ...(o.host ? [`host: ${JSON.stringify(o.host)}`] : []),
        ...(o.port ? [`port: ${o.port}`] : []),
      ];
      return renderNatsServerConfig({
        identities,
        credentials,
        ...(o.storeDir ? { storeDir: o.storeDir } : {}),
        ...(o.cluster ? { cluster: o.cluster } : {}),
        extra,
      });
    },
    writeServerConfig(file, o) {
      writeSecret(file, this.serverConfig(o));
      return file;
    },
    routeCredentials() {
      const file = join(dir, 'cluster-route.secret');
      let password = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
      if (!password) {
        password = randomBytes(24).toString('base64url');
        writeSecret(file, `${password}\n`);
      }
      return { user: 'route', password };
    },
  };
}

function writeSecret(file: string, body: string): void {
  writeFileSync(file, body, { mode: 0o600 });
  chmodSync(file, 0o600);
}
