/**
 * An operator's request to replay a stream by time (requestStreamReplay, `nunchi streams replay`), on a real
 * nats-server: every consumer of the stream, in every process that hears the hint, is recreated by store time
 * and handles again what it handled in the last 15 minutes — what a consumer does on its own when it finds its
 * stream's history rewound (docs/reliability.md), for when an operator saw `nunchi_consumer_rewinds_total`
 * move. Unlike a consumer's finding, a request is honoured however recently the stream was replayed; the
 * consumers of other streams are left alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, Subjects } from '@nunchi/contracts/core';
import { startNatsServer, type TestNatsServer, waitUntil } from '@nunchi/testing';
import { encodeJson } from './codec.js';
import { ConsumerRunner, requestStreamReplay } from './consumer-runner.js';
import { Outcome } from './outcome.js';
import { twoRunners, type TwoRunners } from './testing/two-runners.js';

describe('requestStreamReplay: an operator replays a stream by time in every process consuming it (own nats-server)', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let runner: ConsumerRunner;
  let elsewhere: ConsumerRunner;
  let processes: TwoRunners;
  let warnings: string[];

  before(async () => {
    server = await startNatsServer();
    processes = await twoRunners(server.url, 'operator-replay-medium');
    ({ nc, runner, elsewhere, warnings } = processes);
  });
  after(async () => {
    await processes?.close();
    await server?.stop();
  });

  it('every consumer of the stream handles its messages again, each time an operator asks', async () => {
    /** message id → times handled */
    const handled = new Map<string, number>();
    const consume = (where: ConsumerRunner, stream: string, durable: string, filterSubject: string) =>
      where.start<{ id: string }>({
        stream,
        durable,
        filterSubject,
        spanName: 'test',
        stage: 'context',
        handler: (d) => {
          handled.set(d.body.id, (handled.get(d.body.id) ?? 0) + 1);
          return Promise.resolve(Outcome.done());
        },
        fromAckFloor: true,
      });
    await consume(runner, Streams.EVENTS.name, 'replay-p0', Subjects.event(0, 'purchase'));
    await consume(elsewhere, Streams.EVENTS.name, 'replay-p1', Subjects.event(1, 'purchase'));
    await consume(runner, Streams.ENRICHED.name, 'replay-enriched-p0', Subjects.enriched(0));
    const js = jetstream(nc);
    const ids = { p0: ['a1', 'a2', 'a3'], p1: ['b1', 'b2'], enriched: ['e1', 'e2'] };
    for (const id of ids.p0)
      await js.publish(Subjects.event(0, 'purchase'), encodeJson({ id }), { msgID: id });
    for (const id of ids.p1)
      await js.publish(Subjects.event(1, 'purchase'), encodeJson({ id }), { msgID: id });
    for (const id of ids.enriched) await js.publish(Subjects.enriched(0), encodeJson({ id }), { msgID: id });
    const times = (list: string[]) => list.map((id) => handled.get(id) ?? 0);
    const all = [...ids.p0, ...ids.p1, ...ids.enriched];
    await waitUntil('each handled once', () => (times(all).every((n) => n === 1) ? true : undefined));

    await requestStreamReplay(nc, Streams.EVENTS.name, 'operator kim');
    await waitUntil(
      "EVENTS's messages handled again, in both processes",
      () => (times([...ids.p0, ...ids.p1]).every((n) => n === 2) ? true : undefined),
      30_000,
    );
    // Asked again at once: a request is not held back by the interval that bounds consumers' own findings.
    await requestStreamReplay(nc, Streams.EVENTS.name, 'operator kim');
    await waitUntil(
      'handled a third time',
      () => (times([...ids.p0, ...ids.p1]).every((n) => n === 3) ? true : undefined),
      30_000,
    );
    assert.deepEqual(times(ids.enriched), [1, 1], "ENRICHED's consumer was not asked");
    assert.ok(
      warnings.some(
        (w) => w === 'replay-p1: replaying EVENTS by time, as operator kim asked (nunchi streams replay)',
      ),
      warnings.join('\n'),
    );
  });
});
