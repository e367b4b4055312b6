import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseApiKey } from '@nunchi/access';
import { ApiKeyRepository, connectCassandra, secretMatches } from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';

/** where `npm start` and the demo keep the local admin key (readable by its owner only; gitignored) */
export const LOCAL_ADMIN_KEY_FILE = projectPath('.nunchi', 'admin.key');

const keys = new Map<string, Promise<string>>();

/**
 * A local admin API key for development tools (npm start, the demo, benchmarks, tests) — only in development
 * mode — and this process's `fetch` made to send it to the services these tools start (`serviceUrls`, on
 * loopback addresses) when a request names no Authorization of its own. The key in LOCAL_ADMIN_KEY_FILE is reused while its
 * keyspace still knows it; otherwise a new one is created there. One per keyspace per process.
 */
export async function useLocalAdminKey(
  serviceUrls: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<string> {
  const config = loadConfig('cli', { ...env, OTEL_TRACES_EXPORTER: 'none' });
  if (!config.devMode)
    throw new Error(
      'a local admin key is made only in development mode (NUNCHI_DEV_MODE=1, NODE_ENV=development or test): create keys with `nunchi keys create`',
    );
  let key = keys.get(config.cassandra.keyspace);
  if (!key) {
    key = (async () => {
      const cql = await connectCassandra(config.cassandra, { applicationName: 'nunchi-local-admin' });
      try {
        const repository = new ApiKeyRepository(cql);
        const saved = existsSync(LOCAL_ADMIN_KEY_FILE)
          ? readFileSync(LOCAL_ADMIN_KEY_FILE, 'utf8').trim()
          : '';
        const parts = parseApiKey(saved);
        const stored = parts ? await repository.find(parts.keyId) : undefined;
        if (
          parts &&
          stored &&
          secretMatches(stored, parts.secret) &&
          stored.record.role === 'admin' &&
          stored.record.revokedAtMs === undefined
        )
          return saved;
        const created = await repository.create(
          {
            name: 'local admin (development mode)',
            role: 'admin',
            ratePerSecond: 1_000_000,
            createdBy: 'npm start / demo / tests',
          },
          Date.now(),
        );
        mkdirSync(dirname(LOCAL_ADMIN_KEY_FILE), { recursive: true });
        writeFileSync(LOCAL_ADMIN_KEY_FILE, `${created.key}\n`, { mode: 0o600 });
        chmodSync(LOCAL_ADMIN_KEY_FILE, 0o600);
        return created.key;
      } finally {
        await cql.shutdown();
      }
    })();
    keys.set(config.cassandra.keyspace, key);
    key.catch(() => keys.delete(config.cassandra.keyspace));
  }
  const value = await key;
  authorizeFetch(value, serviceUrls);
  return value;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The Authorization header the local tools send to this URL (a service they started), or undefined: for
 * callers that speak HTTP without fetch (tests that need the exact bytes on the wire).
 */
export function localAuthorization(url: string): string | undefined {
  return installed?.origins.has(new URL(url).origin) ? `Bearer ${installed.key}` : undefined;
}
let installed: { key: string; origins: Set<string> } | undefined;

/** Makes fetch send the key to those services (loopback only) unless the request sets Authorization itself (an empty one: none). */
function authorizeFetch(key: string, serviceUrls: string[]): void {
  const origins = serviceUrls
    .map((u) => new URL(u))
    .filter((u) => u.protocol === 'http:' && LOOPBACK.has(u.hostname))
    .map((u) => u.origin);
  if (installed) {
    installed.key = key;
    for (const origin of origins) installed.origins.add(origin);
    return;
  }
  const state = { key, origins: new Set(origins) };
  installed = state;
  const original = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init?.headers).forEach((v, k) => headers.set(k, v));
    if (!state.origins.has(url.origin) || headers.has('authorization')) return original(input, init);
    headers.set('authorization', `Bearer ${state.key}`);
    return original(input, { ...init, headers });
  };
}
