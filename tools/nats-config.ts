import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectPath } from '@nunchi/config';
import {
  DEFAULT_CHANNELS,
  kubernetesSecrets,
  natsIdentities,
  renderNatsServerConfig,
} from '@nunchi/messaging';
import { stringify } from 'yaml';

/**
 * `npm run nats:config [-- --out <dir>] [--channels pos,web,…] [--store <dir>] [--k8s <namespace>]`: writes a nats-server
 * configuration with one identity per service, per channel adapter and the operator (libs/messaging
 * nats-accounts.ts), and one credentials file per identity (`credentials/<user>.env`: NATS_USER and
 * NATS_PASSWORD) to hand to that process. Passwords already in <dir> are kept, so running it again after a
 * change of permissions does not lock anyone out. Files are written readable by their owner only. With --k8s,
 * also `k8s-secrets.yaml`: the same as Kubernetes Secrets in that namespace (the production overlay mounts
 * them: docs/deployment.md).
 */
function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const out = resolve(arg('out') ?? projectPath('.nunchi', 'nats-auth'));
  const channels = (arg('channels') ?? DEFAULT_CHANNELS.join(','))
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const identities = natsIdentities(channels);
  const credentials = join(out, 'credentials');
  mkdirSync(credentials, { recursive: true, mode: 0o700 });

  const passwords: Record<string, string> = {};
  for (const { user } of identities) {
    const file = join(credentials, `${user}.env`);
    const kept = existsSync(file) ? /^NATS_PASSWORD=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1] : undefined;
    passwords[user] = kept ?? randomBytes(24).toString('base64url');
    writeFileSync(file, `NATS_USER=${user}\nNATS_PASSWORD=${passwords[user]}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const store = arg('store');
  const conf = join(out, 'nats.conf');
  const serverConfig = renderNatsServerConfig({
    identities,
    passwords,
    ...(store ? { storeDir: store } : {}),
  });
  writeFileSync(conf, serverConfig, { mode: 0o600 });
  chmodSync(conf, 0o600);
  const namespace = arg('k8s');
  if (namespace !== undefined) {
    const file = join(out, 'k8s-secrets.yaml');
    const secrets = kubernetesSecrets({
      identities,
      passwords,
      serverConfig,
      namespace: namespace || 'nunchi',
    });
    writeFileSync(file, secrets.map((s) => stringify(s)).join('---\n'), { mode: 0o600 });
    chmodSync(file, 0o600);
    console.log(
      `wrote ${file} (${secrets.length} Secrets in namespace ${namespace || 'nunchi'}): kubectl apply -f ${file}`,
    );
  }
  console.log(`wrote ${conf} (${identities.length} identities: ${identities.map((i) => i.user).join(', ')})`);
  console.log(
    `credentials in ${credentials}/<user>.env: give each process its own (NATS_USER, NATS_PASSWORD)`,
  );
  console.log(`start the server with: nats-server -c ${conf}`);
}

main();
