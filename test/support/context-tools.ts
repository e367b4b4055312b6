import { spawn, type ChildProcess } from 'node:child_process';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { historyRepository, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';
import { partitionOf, Subjects, type IngestReply } from '@nunchi/contracts/core';
import type { AcceptedEvent, ContextSnapshot, CustomerProfile } from '@nunchi/contracts';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { waitFor } from './harness.js';
import { useLocalAdminKey } from '../../tools/local-admin.js';
import type { PreloadStats } from '../../apps/context/src/hot-tier-preload.js';

/** What GET /v1/context/stats answers. */
export interface ContextStats {
  replica: string;
  partitions: { total: number; owned: number[]; share: number; members: string[] };
  cache: { entries: number; bytes: number; hits: number; misses: number; hitRatio: number };
  preload: PreloadStats;
}

export interface ContextView {
  customerId: string;
  erased: boolean;
  profile: CustomerProfile | null;
  ctx: ContextSnapshot;
}

export const getJson = async <T>(url: string): Promise<T> => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};

export const contextOf = (baseUrl: string, customerId: string) =>
  getJson<ContextView>(`${baseUrl}/v1/customers/${customerId}/context`);

/** Sends events through the NATS door with `concurrency` requests in flight; fails on any rejection. */
export async function sendEvents(
  nc: NatsConnection,
  events: Array<Record<string, unknown>>,
  concurrency = 32,
): Promise<IngestReply[]> {
  const replies = new Array<IngestReply>(events.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events.length) {
        const i = next++;
        const e = events[i];
        const msg = await nc.request(
          Subjects.inbound(e['channel'] as string, e['type'] as string),
          encodeJson(e),
          { timeout: 15_000 },
        );
        const reply = decodeJson(msg.data) as IngestReply;
        if (!reply.ok) throw new Error(`event ${String(e['id'])} rejected: ${JSON.stringify(reply.error)}`);
        replies[i] = reply;
      }
    }),
  );
  return replies;
}

/**
 * Puts an accepted event straight on EVENTS under a fresh msgID: what a redelivery looks like to context
 * once JetStream's duplicate window no longer catches the repeat.
 */
export async function redeliver(nc: NatsConnection, event: AcceptedEvent, partitions: number): Promise<void> {
  await jetstream(nc).publish(
    Subjects.event(partitionOf(event.customerId, partitions), event.type),
    encodeJson(event),
    {
      msgID: `redelivery-${event.id}-${Date.now()}-${Math.random()}`,
    },
  );
}

/** Waits until every context partition consumer has nothing pending or unacknowledged. */
export async function contextDrained(
  nc: NatsConnection,
  partitions: number,
  timeoutMs = 30_000,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  /** what was still pending at the last look: named when the wait times out */
  let pending = '';
  try {
    await waitFor(
      'context consumers to drain',
      async () => {
        const behind: string[] = [];
        for (let p = 0; p < partitions; p++) {
          const info = await jsm.consumers.info('EVENTS', `context-p${p}`).catch(() => undefined);
          if (info && (info.num_pending > 0 || info.num_ack_pending > 0))
            behind.push(
              `p${p}: ${info.num_pending} pending, ${info.num_ack_pending} unacknowledged, ${info.num_redelivered} redelivered`,
            );
        }
        pending = behind.join('; ');
        return behind.length === 0 ? true : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} (${pending})`, { cause: error });
  }
}

/** The accepted form of an event as ingestion would put it on EVENTS. */
export function accepted(e: Record<string, unknown>, customerId: string): AcceptedEvent {
  const occurredAt = e['occurredAt'] as string;
  return {
    id: e['id'] as string,
    type: e['type'] as AcceptedEvent['type'],
    channel: e['channel'] as string,
    occurredAt,
    occurredAtMs: Date.parse(occurredAt),
    receivedAtMs: Date.now(),
    customerId,
    ...(e['storeId'] ? { storeId: e['storeId'] as string } : {}),
    payload: e['payload'] as Record<string, unknown>,
  };
}

/** Σ over the `all` rollups of a customer's days in Cassandra: what the context service actually stored. */
export async function storedTotals(
  cql: CqlClient,
  customerId: string,
): Promise<{ events: number; spend: number; purchases: number; days: number }> {
  // opened with the customer's data key, as context reads them (no key cached: an erasure shows at once)
  const history = historyRepository(cql, loadConfig('cli').domain, 0);
  const all = (await history.dailySince(customerId, '1970-01-01')).filter((r) => r.dim === 'all');
  return {
    events: all.reduce((a, r) => a + r.events, 0),
    spend: all.reduce((a, r) => a + r.spend, 0),
    purchases: all.reduce((a, r) => a + r.purchases, 0),
    days: all.length,
  };
}

/** Rows in one customer partition of a table (keyed by customer_id). */
export async function countRows(
  cql: CqlClient,
  table: string,
  customerId: string,
  extra = '',
): Promise<number> {
  const n = (
    await cql.execute(`SELECT COUNT(*) AS n FROM ${table} WHERE customer_id = ?${extra}`, [customerId], {
      prepare: true,
    })
  ).first()['n'] as { toNumber(): number };
  return n.toNumber();
}

export interface Replica {
  url: string;
  port: number;
  child: ChildProcess;
  logs: string[];
  stats(): Promise<ContextStats>;
  /** SIGKILL: no shutdown hooks, no lease release, unacknowledged messages stay pending */
  kill(): Promise<void>;
  /** SIGTERM: clean shutdown (leases released) */
  stop(): Promise<void>;
}

/** Starts one more context process (a replica) on `port` and waits until it is ready. */
export async function startContextReplica(
  port: number,
  env: Record<string, string | undefined> = {},
): Promise<Replica> {
  await useLocalAdminKey([`http://127.0.0.1:${port}`], { ...process.env, ...env });
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', projectPath('dist', 'apps', 'context', 'src', 'main.js')],
    {
      env: { ...process.env, ...env, NUNCHI_CONTEXT_PORT: String(port), FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    stream.setEncoding('utf8').on('data', (chunk: string) => logs.push(...chunk.split('\n').filter(Boolean)));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const replica: Replica = {
    url,
    port,
    child,
    logs,
    stats: () => getJson<ContextStats>(`${url}/v1/context/stats`),
    async kill() {
      if (!ended()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (ended()) return;
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
  try {
    await waitFor(
      `context replica on ${port} to be ready`,
      async () => {
        if (ended()) throw new Error(`exited: ${logs.slice(-20).join('\n')}`);
        const r = await fetch(`${url}/ready`).catch(() => undefined);
        return r?.ok ? true : undefined;
      },
      60_000,
    );
  } catch (error) {
    await replica.kill();
    throw error;
  }
  return replica;
}
