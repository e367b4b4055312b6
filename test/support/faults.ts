import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import type { EnrichedEvent } from '@nunchi/contracts';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { purchase } from './decision.js';
import { readStream } from './streams.js';

/** Helpers of the fault tests (test/outage.e2e.ts, test/rolling-restart.e2e.ts). */

/**
 * Sends each event through the NATS door until it is accepted: a refusal that says "retry" (the door cannot
 * store right now) or no answer is retried, as an adapter does; anything else fails the test. Returns the
 * number of retries.
 */
export async function sendUntilAccepted(
  nc: NatsConnection,
  events: Array<{ id: string; type: string; channel: string }>,
  concurrency = 16,
): Promise<number> {
  let next = 0;
  let retries = 0;
  const worker = async () => {
    while (next < events.length) {
      const e = events[next++];
      for (let attempt = 0; ; attempt++) {
        if (attempt > 200) throw new Error(`event ${e.id}: not accepted after 200 attempts`);
        let reply: IngestReply | undefined;
        try {
          reply = decodeJson(
            (await nc.request(Subjects.inbound(e.channel, e.type), encodeJson(e), { timeout: 5_000 })).data,
          ) as IngestReply;
        } catch {
          // no answer (the door is restarting, NATS is back but ingestion not yet): retry
        }
        if (reply?.ok) break;
        if (reply && !/RETRY|UNAVAILABLE/i.test(reply.error.code))
          throw new Error(`event ${e.id} rejected: ${JSON.stringify(reply.error)}`);
        retries++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker));
  return retries;
}

/**
 * Per customer, the event ids in the order context published them on ENRICHED (first publication of each:
 * a repeat after a redelivery is deduplicated by JetStream or comes after it).
 */
export async function enrichedOrder(
  nc: NatsConnection,
  fromSeq: number,
  isOurs: (customerId: string) => boolean,
): Promise<Map<string, string[]>> {
  const order = new Map<string, string[]>();
  for (const m of await readStream(nc, Streams.ENRICHED.name, Subjects.enrichedAll, fromSeq)) {
    const { event } = m.json<EnrichedEvent>();
    if (!isOurs(event.customerId)) continue;
    const ids = order.get(event.customerId) ?? [];
    if (!ids.includes(event.id)) ids.push(event.id);
    order.set(event.customerId, ids);
  }
  return order;
}

/** DLQ entries of the given stages stored since fromSeq: subject and reason. */
export async function dlqSince(
  nc: NatsConnection,
  fromSeq: number,
  stages: string[],
): Promise<Array<{ subject: string; reason: string }>> {
  const all = await readStream(nc, Streams.DLQ.name, Subjects.dlqAll, fromSeq);
  return all
    .filter((m) => stages.some((s) => m.subject === `mkt.dlq.${s}`))
    .map((m) => ({ subject: m.subject, reason: m.headers?.get('Nunchi-Dlq-Reason') ?? '' }));
}

/** Σ num_redelivered over the partition consumers of a group: deliveries used up by retries and ack waits. */
export async function redeliveredCount(
  nc: NatsConnection,
  stream: string,
  group: string,
  partitions: number,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  let n = 0;
  for (let p = 0; p < partitions; p++) {
    const info = await jsm.consumers.info(stream, `${group}-p${p}`).catch(() => undefined);
    n += info?.num_redelivered ?? 0;
  }
  return n;
}

export interface ReadyAnswer {
  http: number;
  status: string;
  checks: Record<string, { ok: boolean; degraded?: boolean; detail?: string }>;
}

export async function readyOf(baseUrl: string): Promise<ReadyAnswer> {
  const response = await fetch(`${baseUrl}/ready`);
  const body = (await response.json()) as Omit<ReadyAnswer, 'http'>;
  return { http: response.status, ...body };
}

/**
 * Steady purchases while a test injects faults: batches of `senders` events (customer n % `customers`, so
 * several events of a customer are in flight), each sent until accepted, every 200 ms, until stop().
 * `sent` holds every accepted event; stop() resolves once the batch in flight is accepted.
 */
export function steadyPurchases(
  nc: NatsConnection,
  o: { run: string; store: string; senders: number; customers: number },
): { sent: Array<ReturnType<typeof purchase>>; stop: () => Promise<void> } {
  const sent: Array<ReturnType<typeof purchase>> = [];
  let sending = true;
  const load = (async () => {
    for (let i = 0; sending;) {
      const batch = Array.from({ length: o.senders }, () => {
        const n = i++;
        return purchase(`${o.run}-e${n}`, `${o.run}-c${n % o.customers}`, o.store, 1_000);
      });
      await sendUntilAccepted(nc, batch, o.senders);
      sent.push(...batch);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    sent,
    stop: async () => {
      sending = false;
      await load;
    },
  };
}
