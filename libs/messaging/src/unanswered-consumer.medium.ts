/**
 * ConsumerRunner on a three-server JetStream cluster of the test's own: a consumer whose replica group loses its
 * only server (a one-replica consumer, as a group that never elects a leader again after a partition behaves) is
 * unanswered while its stream answers; past the grace period it is deleted and created again from its ack floor
 * on the servers that are left, and every message stored meanwhile is handled — none lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { Streams, Subjects } from '@nunchi/contracts/core';
import { startNatsCluster, type TestNatsCluster, waitUntil } from '@nunchi/testing';
import { encodeJson } from './codec.js';
import { connectNats } from './connection.js';
import { ConsumerRunner } from './consumer-runner.js';
import { Outcome } from './outcome.js';
import { Publisher } from './publisher.js';
import { applyStreams } from './streams.js';

describe('ConsumerRunner: a consumer nothing answers for is replaced (three-server cluster)', () => {
  let cluster: TestNatsCluster;
  let nc: NatsConnection;
  let runner: ConsumerRunner;
  const warnings: string[] = [];

  before(async () => {
    cluster = await startNatsCluster(3);
    const config = loadConfig('cli', {
      NATS_URL: cluster.url,
      NUNCHI_STREAM_REPLICAS: '3',
      OTEL_TRACES_EXPORTER: 'none',
    });
    nc = await connectNats(config.nats, 'unanswered-medium');
    // JetStream answers once the servers have elected a meta leader.
    await waitUntil(
      'the cluster to elect a meta leader',
      () => applyStreams(nc, config.nats).then(() => true),
      60_000,
    );
    runner = new ConsumerRunner(
      nc,
      new Publisher(nc),
      { log: () => undefined, warn: (m) => warnings.push(m), error: () => undefined },
      { unansweredGraceMs: 3_000 },
    );
  });
  after(async () => {
    await runner?.stop();
    await nc?.close();
    await cluster?.stop();
  });

  it('recreates it from its ack floor on the servers left, and handles what was stored meanwhile', async () => {
    const jsm = await jetstreamManager(nc);
    const subject = Subjects.event(0, 'purchase');
    const durable = 'unanswered-p0';
    // One replica: its group is gone with its server, as a three-replica group that never elects a leader.
    const created = await jsm.consumers.add(Streams.EVENTS.name, {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      num_replicas: 1,
    });
    const host = created.cluster?.leader;
    assert.ok(host, 'the consumer has a leader');
    const seen: number[] = [];
    await runner.start<{ n: number }>({
      stream: Streams.EVENTS.name,
      durable,
      filterSubject: subject,
      spanName: 'test',
      stage: 'context',
      handler: (d) => {
        seen.push(d.body.n);
        return Promise.resolve(Outcome.done());
      },
      orderingKey: () => 'one customer',
      fromAckFloor: true,
    });
    const publish = (n: number) =>
      waitUntil(`message ${n} stored`, () => jetstream(nc).publish(subject, encodeJson({ n })), 60_000);
    await publish(1);
    await waitUntil('the first message', () => Promise.resolve(seen.includes(1) || undefined), 20_000);
    await waitUntil(
      'its acknowledgement',
      async () =>
        (await jsm.consumers.info(Streams.EVENTS.name, durable)).ack_floor.stream_seq > 0 || undefined,
      20_000,
    );

    const victim = cluster.servers[Number(host.slice(1)) - 1];
    assert.ok(victim, `a server named ${host}`);
    await victim.crash();
    for (let n = 2; n <= 6; n++) await publish(n);

    await waitUntil(
      'every message stored after the crash',
      () => Promise.resolve(seen.includes(6) || undefined),
      120_000,
    );
    assert.deepEqual(
      [...new Set(seen)].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
      'none lost',
    );
    assert.deepEqual(
      seen.filter((n) => n > 1),
      [2, 3, 4, 5, 6],
      'redelivered from its ack floor, in order, once',
    );
    assert.ok(
      warnings.some(
        (w) =>
          w.includes(`${durable}: unanswered`) &&
          w.includes('recreating it, redelivering from stream sequence'),
      ),
      `the replacement is logged: ${warnings.join(' | ')}`,
    );
    const now = await jsm.consumers.info(Streams.EVENTS.name, durable);
    assert.notEqual(now.cluster?.leader, host, 'the consumer lives on a server that answers');
  });
});
