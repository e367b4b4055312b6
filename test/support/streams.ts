import { request as httpRequest } from 'node:http';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { decodeJson } from '@nunchi/messaging';
import { localAuthorization } from '../../tools/local-admin.js';

export interface StoredMsg {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs;
  json<T>(): T;
}

/** The stream's last sequence: read before an action, then read the stream from the next one. */
export async function lastSeq(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
}

/** Every message of a stream on `filter` from sequence `fromSeq` on, in stream order (an ephemeral consumer). */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  filter: string,
  fromSeq = 1,
): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.add(stream, {
    filter_subject: filter,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, fromSeq),
    ack_policy: AckPolicy.None,
    inactive_threshold: 30_000_000_000,
    mem_storage: true,
  });
  const out: StoredMsg[] = [];
  try {
    const consumer = await jetstream(nc).consumers.get(stream, info.name);
    // The end is what the server says is left, asked before every fetch (the count given when the consumer
    // was made can be long: messages the stream no longer holds). An empty fetch can be a pull that expired on
    // a busy server: only several in a row with messages said to be left mean loss.
    let emptyFetches = 0;
    // nats-server 2.9.10 has answered 0 pending for a filtered consumer with a thousand matching messages
    // stored (ingestion-order, twice on 2026-12-03): a read the count calls empty is then made by fetching
    // until a fetch comes back short, not by the count.
    let distrust = false;
    for (;;) {
      let left = distrust ? 1_000 : (await jsm.consumers.info(stream, info.name)).num_pending;
      if (left === 0) {
        if (out.length > 0) break;
        distrust = true;
        left = 1_000;
      }
      // asking for no more than is left: the fetch returns as soon as they are here, not at its expiry
      const batch = await consumer.fetch({
        max_messages: Math.min(1_000, left),
        expires: distrust ? 1_000 : 2_000,
      });
      let got = 0;
      try {
        for await (const m of batch) {
          got++;
          out.push({
            seq: m.seq,
            subject: m.subject,
            data: m.data,
            headers: m.headers,
            json: <T>() => decodeJson(m.data) as T,
          });
        }
      } catch (error) {
        // A pull whose heartbeats this process missed (its event loop stalled past two of them, seen in the
        // full suite on two loaded cores) ends the batch; what arrived is kept, the next fetch goes on after it.
        if (!/heartbeats missed/i.test((error as Error).message)) throw error;
      }
      if (distrust && got < left) break;
      emptyFetches = got === 0 ? emptyFetches + 1 : 0;
      if (emptyFetches === 5)
        throw new Error(`${stream}: ${left} messages did not arrive in 5 fetches of 2 s`);
    }
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return out;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  text: string;
}

/** POST with exactly these bytes (fetch would re-encode strings and refuses some bodies). */
export function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpAnswer> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  // The local admin key, like fetch's (tools/local-admin.ts), unless the test names an Authorization itself.
  const authorization = localAuthorization(url);
  const auth =
    authorization && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')
      ? { authorization }
      : {};
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { ...auth, ...headers, 'content-length': bytes.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: the test will say so
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on('error', reject);
      },
    );
    // A server may answer (413) and close before reading everything: that is an answer, not an error.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    req.end(bytes);
  });
}
