/**
 * ConsumerRunner against a nats-server of the test's own: a loop whose consumer vanishes is restarted (and says
 * so in health()), and a DLQ write that fails neither stalls nor ends the loop — the rejected message is kept
 * until the DLQ has it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { Headers, Streams, Subjects } from '@nunchi/contracts/core';
import { startNatsServer, type TestNatsServer, waitUntil } from '@nunchi/testing';
import { encodeJson } from './codec.js';
import { connectNats } from './connection.js';
import { ConsumerRunner } from './consumer-runner.js';
import { Outcome } from './outcome.js';
import { Publisher } from './publisher.js';
import { applyStreams } from './streams.js';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('ConsumerRunner: supervised loops, DLQ writes retried (own nats-server)', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let runner: ConsumerRunner;

  before(async () => {
    server = await startNatsServer();
    const config = loadConfig('cli', { NATS_URL: server.url, OTEL_TRACES_EXPORTER: 'none' });
    nc = await connectNats(config.nats, 'runner-medium');
    await applyStreams(nc, config.nats);
    runner = new ConsumerRunner(nc, new Publisher(nc), quiet);
  });
  after(async () => {
    await runner?.stop();
    await nc?.drain();
    await server?.stop();
  });

  const publish = (subject: string, body: unknown) => jetstream(nc).publish(subject, encodeJson(body));

  it('restarts a loop whose consumer was deleted under it, and consumes what came meanwhile', async () => {
    const seen: number[] = [];
    await runner.start<{ n: number }>({
      stream: Streams.EVENTS.name,
      durable: 'sup-p0',
      filterSubject: Subjects.event(0, 'purchase'),
      spanName: 'test',
      stage: 'context',
      handler: (d) => {
        seen.push(d.body.n);
        return Promise.resolve(Outcome.done());
      },
      orderingKey: () => 'one',
      fromAckFloor: true,
    });
    await publish(Subjects.event(0, 'purchase'), { n: 1 });
    await waitUntil('the first message', () => (seen.includes(1) ? true : undefined));
    await (await jetstreamManager(nc)).consumers.delete(Streams.EVENTS.name, 'sup-p0');
    await waitUntil('the loop to notice and restart', () =>
      runner.health().some((h) => h.durable === 'sup-p0' && h.state !== 'running') ? true : undefined,
    );
    await publish(Subjects.event(0, 'purchase'), { n: 2 });
    await waitUntil(
      'the message sent after the restart',
      () => (seen.includes(2) ? true : undefined),
      30_000,
    );
    assert.deepEqual(runner.health().find((h) => h.durable === 'sup-p0')?.state, 'running');
    await runner.stop('sup-p0');
  });

  it('a stop while the consumer is still being created wins: nothing is consumed, and it can start again', async () => {
    const seen: number[] = [];
    const spec = {
      stream: Streams.EVENTS.name,
      durable: 'sup-p1',
      filterSubject: Subjects.event(1, 'purchase'),
      spanName: 'test',
      stage: 'context' as const,
      handler: (d: { body: { n: number } }) => {
        seen.push(d.body.n);
        return Promise.resolve(Outcome.done());
      },
      fromAckFloor: true,
    };
    await publish(Subjects.event(1, 'purchase'), { n: 1 });
    // As a partition whose lease is fenced while its consumer is created: start, and stop before it resolves.
    const starting = runner.start<{ n: number }>(spec);
    await assert.rejects(runner.start<{ n: number }>(spec), /already running/);
    await runner.stop('sup-p1');
    await starting;
    assert.equal(runner.consumers.includes('sup-p1'), false);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen.length, 0, 'a start overtaken by a stop consumed messages');
    await runner.start<{ n: number }>(spec);
    await waitUntil('the message, once started for real', () => (seen.includes(1) ? true : undefined));
    await runner.stop('sup-p1');
  });

  it('keeps a rejected message while its DLQ write fails, goes on with other keys, and stores it once the DLQ is back', async () => {
    const jsm = await jetstreamManager(nc);
    const dlq = (await jsm.streams.info(Streams.DLQ.name)).config;
    await jsm.streams.delete(Streams.DLQ.name); // every DLQ write fails: no stream answers
    const done: string[] = [];
    await runner.start<{ key: string; bad?: boolean }>({
      stream: Streams.EVENTS.name,
      durable: 'dlq-p1',
      filterSubject: Subjects.event(1, 'purchase'),
      spanName: 'test',
      stage: 'context',
      handler: (d) =>
        Promise.resolve(
          d.body.bad ? Outcome.reject('invalid for this test') : (done.push(d.body.key), Outcome.done()),
        ),
      orderingKey: (b) => b.key,
      fromAckFloor: true,
    });
    await publish(Subjects.event(1, 'purchase'), { key: 'a', bad: true });
    await publish(Subjects.event(1, 'purchase'), { key: 'b' });
    await waitUntil('another key handled meanwhile', () => (done.includes('b') ? true : undefined));
    // b's acknowledgement reaches the server a moment after its handler returns: wait for it, then a is
    // the one message still pending
    await waitUntil('b acknowledged', async () => {
      const info = await jsm.consumers.info(Streams.EVENTS.name, 'dlq-p1');
      return info.num_ack_pending <= 1 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    const held = await jsm.consumers.info(Streams.EVENTS.name, 'dlq-p1');
    assert.equal(held.num_ack_pending, 1, 'the rejected message is kept, unacknowledged');
    assert.deepEqual(
      runner.health().find((h) => h.durable === 'dlq-p1')?.state,
      'running',
      'the loop goes on',
    );

    await jsm.streams.add({ ...dlq });
    await waitUntil(
      'the DLQ entry',
      async () => {
        const info = await jsm.streams.info(Streams.DLQ.name);
        return info.state.messages === 1 ? true : undefined;
      },
      40_000,
    );
    await waitUntil('the rejected message settled', async () => {
      const info = await jsm.consumers.info(Streams.EVENTS.name, 'dlq-p1');
      return info.num_ack_pending === 0 ? true : undefined;
    });
    await runner.stop('dlq-p1');
  });

  it("stores what the stage's DLQ sealer makes of a refused message, and retries a sealer that fails", async () => {
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(Streams.DLQ.name)).state.last_seq;
    let failures = 1; // the first attempt fails (the customer's key cannot be read, say): kept and retried
    runner.sealDeadLetters((stage, data) => {
      if (failures-- > 0) return Promise.reject(new Error('key store unavailable'));
      const body = JSON.parse(Buffer.from(data).toString('utf8')) as { key: string; secret: string };
      return Promise.resolve({
        data: encodeJson({ key: body.key, stage, secret: 'sealed' }),
        headers: { [Headers.dlqSealed]: 'secret' },
      });
    });
    try {
      await runner.start<{ key: string }>({
        stream: Streams.EVENTS.name,
        durable: 'dlq-p2',
        filterSubject: Subjects.event(2, 'purchase'),
        spanName: 'test',
        stage: 'context',
        handler: () => Promise.resolve(Outcome.reject('invalid for this test')),
        orderingKey: (b) => b.key,
      });
      await publish(Subjects.event(2, 'purchase'), { key: 'c', secret: 'the customer’s basket' });
      const stored = await waitUntil(
        'the sealed DLQ entry',
        async () => {
          const last = (await jsm.streams.info(Streams.DLQ.name)).state.last_seq;
          return last > before
            ? ((await jsm.streams.getMessage(Streams.DLQ.name, { seq: last })) ?? undefined)
            : undefined;
        },
        20_000,
      );
      assert.deepEqual(JSON.parse(Buffer.from(stored.data).toString('utf8')), {
        key: 'c',
        stage: 'context',
        secret: 'sealed',
      });
      assert.equal(stored.header.get(Headers.dlqSealed), 'secret');
      assert.equal(stored.header.get(Headers.dlqReason), 'invalid for this test');
      assert.equal(failures, -1, 'the failed attempt was retried once');
    } finally {
      runner.sealDeadLetters((_stage, data) => Promise.resolve({ data }));
      await runner.stop('dlq-p2');
    }
  });

  it("reports the age of a backlog it has taken nothing of: its predecessor's messages awaiting redelivery", async () => {
    const durable = 'gap-p3';
    const subject = Subjects.event(3, 'purchase');
    const jsm = await jetstreamManager(nc);
    // The consumer as the runner makes it (ack wait 60 s, three unacknowledged at most)…
    await jsm.consumers.add(Streams.EVENTS.name, {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 60_000_000_000,
      max_ack_pending: 3,
      max_deliver: -1,
    });
    for (let n = 0; n < 6; n++) await publish(subject, { n });
    // …whose previous reader took three and ended without settling them: nothing more is delivered for 60 s.
    const taken = await (
      await jetstream(nc).consumers.get(Streams.EVENTS.name, durable)
    ).fetch({
      max_messages: 3,
      expires: 2_000,
    });
    let held = 0;
    for await (const msg of taken) if (msg.seq) held++;
    assert.equal(held, 3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const seen: number[] = [];
    await runner.start<{ n: number }>({
      stream: Streams.EVENTS.name,
      durable,
      filterSubject: subject,
      spanName: 'test',
      stage: 'context',
      maxAckPending: 3,
      ackWaitMs: 60_000,
      handler: (d) => {
        seen.push(d.body.n);
        return Promise.resolve(Outcome.done());
      },
      orderingKey: () => 'one',
    });
    try {
      const lag = await waitUntil(
        'the backlog to be reported',
        () => runner.lag().find((l) => l.durable === durable && l.oldestAgeS >= 1.5),
        4_000,
      );
      assert.deepEqual(seen, [], 'nothing was taken in hand: the three wait for their redelivery');
      assert.equal(lag.pending, 6);
      assert.ok(lag.oldestAgeS < 10, `${lag.oldestAgeS} s: the first message's age`);
    } finally {
      await runner.stop(durable);
    }
  });
});
