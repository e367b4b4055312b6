import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kubernetesSecrets } from '@nunchi/messaging';
import { stringify } from 'yaml';
import { ensureNatsAuth } from './nats-auth.js';

/**
 * `npm run nats:config [-- --out <dir>] [--channels pos,web,…] [--store <dir>] [--k8s <namespace>]`: the
 * project's NATS identities — one nkey per service, per channel adapter and the operator (libs/messaging
 * nats-accounts.ts) — in <dir> (NUNCHI_NATS_AUTH_DIR, else .nunchi/nats-auth): each seed in `<identity>.nk`
 * to hand to that process (NATS_USER and NATS_NKEY_SEED_FILE), and `nats.conf`, a nats-server configuration
 * with their public keys and permissions. Seeds already in <dir> are kept, so running it again after a change
 * of permissions locks nobody out; delete one to rotate it (docs/security.md). Files are written readable by
 * their owner only. With --k8s, also `k8s-secrets.yaml`: the same as Kubernetes Secrets in that namespace, and
 * the cluster routes' user and password (`cluster-route.secret`) as the Secret nunchi-nats-route (the production
 * overlay mounts them: docs/deployment.md).
 */
function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const out = arg('out');
  const channels = arg('channels')
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const auth = ensureNatsAuth({ ...(out ? { dir: resolve(out) } : {}), ...(channels ? { channels } : {}) });
  const store = arg('store');
  const conf = auth.writeServerConfig(join(auth.dir, 'nats.conf'), store ? { storeDir: store } : {});
  const namespace = arg('k8s');
  if (namespace !== undefined) {
    const file = join(auth.dir, 'k8s-secrets.yaml');
    const secrets = kubernetesSecrets({
      identities: auth.identities,
      seeds: auth.seeds(),
      serverConfig: readFileSync(conf, 'utf8'),
      namespace: namespace || 'nunchi',
      // the production cluster's routes (k8s/overlays/production/nats.yaml): the same as scripts/cluster.mjs's
      route: auth.routeCredentials(),
    });
    writeFileSync(file, secrets.map((s) => stringify(s)).join('---\n'), { mode: 0o600 });
    chmodSync(file, 0o600);
    console.log(
      `wrote ${file} (${secrets.length} Secrets in namespace ${namespace || 'nunchi'}): kubectl apply -f ${file}`,
    );
  }
  console.log(
    `wrote ${conf} (${auth.identities.length} identities: ${auth.identities.map((i) => i.user).join(', ')})`,
  );
  console.log(
    `seeds in ${auth.dir}/<identity>.nk: give each process its own (NATS_USER=<identity>, NATS_NKEY_SEED_FILE=<file>)`,
  );
  console.log(`start the server with: nats-server -c ${conf}`);
}

main();
