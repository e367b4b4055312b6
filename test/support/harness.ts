import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, projectPath, type NunchiConfig } from '@nunchi/config';
import { connectNats, decodeJson, encodeJson } from '@nunchi/messaging';
import { isHeldOut } from '@nunchi/rules';
import type { IngestReply } from '@nunchi/contracts/core';
import { Resources } from '../../apps/cli/src/resources.js';
import { applyStreamLayout } from '../../apps/cli/src/commands/streams.js';
import { startServices, type RunningServices, type StartOptions } from '../../tools/services.js';

const exec = promisify(execFile);

/** The nunchi CLI as an operator runs it, with the tests' environment (keyspace, NATS) and `env` on top; never throws. */
export async function nunchi(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      [projectPath('dist', 'apps', 'cli', 'src', 'main.js'), ...args],
      { env: { ...process.env, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A short id unique to this test run, safe as a subject token. */
export const runId = () => randomUUID().slice(0, 8);

/**
 * A run id whose dad (`t<run>-dad`) the founding campaign (bundang-dad-beer, 10 % holdout) does not hold out:
 * a held-out customer gets no offer, by design, which a test expecting one would take for a failure.
 */
export function dadRunId(): string {
  let run = runId();
  while (isHeldOut('bundang-dad-beer', `t${run}-dad`, 10)) run = runId();
  return run;
}

export interface Harness {
  config: NunchiConfig;
  nc: NatsConnection;
  cql: CqlClient;
  resources: Resources;
  services: RunningServices;
  logs: string[];
  close(): Promise<void>;
}

/**
 * The streams as the migration step lays them out (`nunchi migrate` runs the same code) for this environment:
 * services only check them. Needed before services start on a NATS server of a test's own, or when a test
 * changes the layout (scripts/test.mjs migrates the suite's server before any test).
 */
export async function migrateStreams(env: Record<string, string | undefined> = {}): Promise<void> {
  const resources = new Resources({ ...process.env, ...env, OTEL_TRACES_EXPORTER: 'none' });
  try {
    await applyStreamLayout(resources);
  } finally {
    await resources.close();
  }
}

/**
 * The four services as separate processes (or those of `services`, e.g. all but one a test starts and stops
 * itself), plus client connections to the same NATS and Cassandra.
 */
export async function startHarness(
  env: Record<string, string> = {},
  options: { services?: StartOptions['services'] } = {},
): Promise<Harness> {
  const logs: string[] = [];
  await migrateStreams(env);
  const services = await startServices({
    env,
    log: (service, line) => logs.push(`${service} ${line}`),
    ...(options.services ? { services: options.services } : {}),
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${logs.slice(-40).join('\n')}`);
  });
  const config = loadConfig('cli', { ...process.env, ...env, OTEL_TRACES_EXPORTER: 'none' });
  const nc = await connectNats(config.nats, 'nunchi-test');
  const cql = await connectCassandra(config.cassandra);
  const resources = new Resources({ ...process.env, ...env });
  return {
    config,
    nc,
    cql,
    resources,
    services,
    logs,
    async close() {
      await services.stop();
      await resources.close();
      await nc.drain();
      await cql.shutdown();
      assertNoPermissionRefusals(logs);
    },
  };
}

/**
 * A service refused by Cassandra for want of a grant (cql/roles/grants.cql) may only log it and carry on — a
 * background task that never runs, a cache never evicted — so every test that starts the services fails on it.
 */
export function assertNoPermissionRefusals(logs: readonly string[]): void {
  const refusals = logs.filter((line) => /has no \w+ permission on/.test(line)).slice(0, 5);
  assert.deepEqual(
    refusals,
    [],
    'a service was refused by Cassandra: a grant is missing from cql/roles/grants.cql',
  );
}

export async function request(nc: NatsConnection, subject: string, body: unknown): Promise<IngestReply> {
  const msg = await nc.request(
    subject,
    typeof body === 'string' || body instanceof Uint8Array ? body : encodeJson(body),
    { timeout: 10_000 },
  );
  return decodeJson(msg.data) as IngestReply;
}

/** Polls until fn returns a value other than undefined, or fails after timeoutMs with the message. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}

const line = (sku: string, category: string, quantity: number, unitPrice: number) => ({
  sku,
  category,
  quantity,
  unitPrice,
});

/** The founding scenario's basket: formula and beer for 110,000 KRW. */
export function dadsPurchase(
  id: string,
  customer: Record<string, string>,
  storeId: string,
  occurredAt: string,
) {
  const items = [
    line('880123', 'infant_formula', 2, 32000),
    line('880555', 'beer', 6, 4500),
    line('880777', 'diapers', 1, 19000),
  ];
  return {
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt,
    customer,
    storeId,
    payload: { amount: 110000, currency: 'KRW', items },
  };
}

/** Today at HH:MM in Seoul if that has passed, else yesterday, as ISO-8601 with +09:00. */
export function seoulTime(hhmm: string, nowMs = Date.now()): string {
  const seoul = new Date(nowMs + 9 * 3_600_000);
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const passed = seoul.getUTCHours() * 60 + seoul.getUTCMinutes() > h * 60 + m;
  const day = new Date(seoul.getTime() - (passed ? 0 : 86_400_000)).toISOString().slice(0, 10);
  return `${day}T${hhmm}:00+09:00`;
}
