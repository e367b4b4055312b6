import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';

/**
 * How an example adapter connects: as its channel's NATS identity (`adapter-<channel>`, docs/security.md),
 * with the nkey seed in NATS_NKEY_SEED or NATS_NKEY_SEED_FILE, else the one `npm run infra:up` generated in
 * NUNCHI_NATS_AUTH_DIR (.nunchi/nats-auth) if there. Its replies come under `_INBOX_<identity>`, the only
 * inbox its permissions let it read. NATS_URL defaults to the project's own server (14222).
 */
export function adapterConnectionOptions(
  channel: string,
  natsUrl: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): NodeConnectionOptions {
  const user = env['NATS_USER'] || `adapter-${channel}`;
  const dir = env['NUNCHI_NATS_AUTH_DIR'] || join('.nunchi', 'nats-auth');
  const file =
    env['NATS_NKEY_SEED_FILE'] || (existsSync(join(dir, `${user}.nk`)) ? join(dir, `${user}.nk`) : '');
  const seed = env['NATS_NKEY_SEED'] || (file ? readFileSync(file, 'utf8').trim() : '');
  return {
    servers: natsUrl ?? env['NATS_URL'] ?? 'nats://127.0.0.1:14222',
    inboxPrefix: `_INBOX_${user}`,
    ...(seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) } : {}),
  };
}
