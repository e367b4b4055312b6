import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApiKeyRepository, connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { connectNats } from '@nunchi/messaging';
import { startServices, type RunningServices } from '../tools/services.js';
import { migrateStreams, request, runId } from './support/harness.js';
import { lastSeq, readStream } from './support/streams.js';

/** events per second of the test's channel and key: their buckets hold 10 (a second's worth, at least 10) */
const RATE = 1;
const BURST = 10;
const SENT = 30;

/**
 * Rate limits per adapter hold across ingestion replicas (docs/security.md, "Rate limits per adapter"): two
 * ingestion processes share one bucket per channel (NATS door) and per API key (HTTP door), so together they
 * admit the burst plus the rate — not twice that, as two buckets of their own would.
 */
describe('adapter rate limits, two ingestion replicas', () => {
  const run = runId();
  const channel = `rl${run}`;
  let config: NunchiConfig;
  let nc: NatsConnection;
  let cql: CqlClient;
  const replicas: RunningServices[] = [];
  const basePort = Number(process.env['NUNCHI_INGESTION_PORT'] ?? 3101) + 100;

  before(async () => {
    config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
    await migrateStreams();
    nc = await connectNats(config.nats, 'nunchi-test');
    cql = await connectCassandra(config.cassandra);
    for (const port of [basePort, basePort + 1])
      replicas.push(
        await startServices({
          services: ['ingestion'],
          env: {
            NUNCHI_INGESTION_PORT: String(port),
            NUNCHI_ADAPTER_RATES: `${channel}=${RATE}`,
            OTEL_TRACES_EXPORTER: 'none',
          },
          log: () => undefined,
        }),
      );
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await nc?.drain();
    await cql?.shutdown();
  });

  const visit = (id: string, ch = channel) => ({
    id,
    type: 'visit',
    channel: ch,
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    customer: { id: `${channel}-c` },
    storeId: 'store-1',
    payload: {},
  });
  const metric = async (url: string, series: string): Promise<number> =>
    [...(await (await fetch(`${url}/metrics`)).text()).matchAll(new RegExp(`^${series} (\\d+)`, 'gm'))]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);

  it('holds a channel to its rate on the NATS door, both replicas together: RATE_LIMITED with retryAfterMs, counted, nothing stored', async () => {
    const from = await lastSeq(nc, Streams.EVENTS.name);
    const startedMs = Date.now();
    const replies = await Promise.all(
      Array.from({ length: SENT }, (_, i) =>
        request(nc, Subjects.inbound(channel, 'visit'), visit(`${channel}-e${i}`)),
      ),
    );
    const seconds = (Date.now() - startedMs) / 1000;
    const accepted = replies.filter((r) => r.ok);
    const refused = replies.filter((r) => !r.ok);
    // One bucket: the burst plus what refilled while they were sent (one token per replica's draw may round up).
    const bound = BURST + Math.ceil(seconds * RATE) + 2;
    assert.ok(accepted.length >= BURST, `the burst is admitted: ${accepted.length}`);
    assert.ok(
      accepted.length <= bound,
      `accepted ${accepted.length} of ${SENT} in ${seconds.toFixed(2)} s: more than one bucket's ${bound} (each replica counting alone would admit about ${2 * BURST})`,
    );
    for (const r of refused) {
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'RATE_LIMITED');
      assert.ok((r.error.retryAfterMs ?? 0) > 0, 'says when to retry');
      assert.match(r.error.message ?? '', new RegExp(`channel ${channel} are over their rate of 1 events/s`));
    }

    // Nothing refused was stored: EVENTS holds exactly the accepted ones.
    const stored = (await readStream(nc, Streams.EVENTS.name, Subjects.eventsAll, from + 1))
      .map((m) => m.json<AcceptedEvent>())
      .filter((e) => e.channel === channel);
    assert.equal(stored.length, accepted.length, 'EVENTS holds the accepted events only');

    // Both replicas answered some, and their metrics count every refusal.
    const urls = replicas.map((r) => r.urls.ingestion);
    const answered = await Promise.all(
      urls.map((u) => metric(u, 'nunchi_ingestion_events_total\\{[^}]*\\}')),
    );
    assert.ok(
      answered.every((n) => n > 0),
      `each replica answered some: ${answered.join(', ')}`,
    );
    const counted = await Promise.all(
      urls.map((u) =>
        metric(u, `nunchi_ingestion_rate_limited_total\\{door="nats",channel="${channel}"[^}]*\\}`),
      ),
    );
    assert.equal(
      counted.reduce((a, b) => a + b, 0),
      refused.length,
    );

    // Another channel (the default rate) is not held back by this one's.
    const other = visit(`${channel}-other`, 'web');
    assert.equal((await request(nc, Subjects.inbound('web', 'visit'), other)).ok, true);

    // After the wait it names, the same event is taken.
    const retry = refused[0];
    await new Promise((r) => setTimeout(r, (retry.error.retryAfterMs ?? 1_000) + 1_100));
    const again = replies.findIndex((r) => !r.ok);
    assert.equal(
      (await request(nc, Subjects.inbound(channel, 'visit'), visit(`${channel}-e${again}`))).ok,
      true,
    );
  });

  it('holds an API key to its rate on the HTTP event door, both replicas together (429 RATE_LIMITED with Retry-After)', async () => {
    const { key } = await new ApiKeyRepository(cql).create(
      {
        name: `t${run} slow adapter`,
        role: 'adapter',
        ratePerSecond: RATE,
        createdBy: 'adapter-rate-limit.e2e',
      },
      Date.now(),
    );
    const urls = replicas.map((r) => r.urls.ingestion);
    const startedMs = Date.now();
    const answers = await Promise.all(
      Array.from({ length: SENT }, async (_, i) => {
        const response = await fetch(`${urls[i % 2]}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(visit(`${channel}-h${i}`, 'web')),
        });
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: (await response.json()) as IngestReply,
        };
      }),
    );
    const seconds = (Date.now() - startedMs) / 1000;
    const accepted = answers.filter((a) => a.status === 200).length;
    const bound = BURST + Math.ceil(seconds * RATE) + 2;
    assert.ok(accepted >= 1, 'some are taken');
    assert.ok(
      accepted <= bound,
      `accepted ${accepted} of ${SENT} requests sent alternately to two replicas in ${seconds.toFixed(2)} s: more than one bucket's ${bound}`,
    );
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 429);
      assert.ok(!a.body.ok && a.body.error.code === 'RATE_LIMITED', JSON.stringify(a.body));
      assert.ok(Number(a.retryAfter) >= 1, 'Retry-After');
    }
  });
});
