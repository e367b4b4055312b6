/**
 * ConsumerRunner against a stream whose history is rewritten under its consumer, on a real nats-server: what
 * nats-server 2.9.10 did on a three-host cluster after a partition healed (docs/reliability.md, "A stream's
 * history rewound under its consumers") — other messages stored under sequences the consumer had already
 * handled, below the stream's new end, which the consumer would therefore never deliver. Made here without a
 * cluster, deterministically: the server is stopped, its stream's message store replaced by that of a second
 * server holding another history (the consumer's own state, its position, kept), and started again. The
 * consumer then delivers only the new history's messages past its old position, at once; the watchdog's
 * read-back of a message handled before finds another one there and replays the stream by time, so every
 * message of the new history is handled. Two more consumers of the stream, opened again since (their
 * partitions taken over) and so with nothing handled to read back, one in the same runner and one in another
 * process's, are replayed by time on the first one's finding.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { Streams, Subjects } from '@nunchi/contracts/core';
import { startNatsServer, type TestNatsServer, waitUntil } from '@nunchi/testing';
import { encodeJson } from './codec.js';
import { connectNats } from './connection.js';
import { ConsumerRunner, LAG_POLL_MS } from './consumer-runner.js';
import { Outcome } from './outcome.js';
import { applyStreams } from './streams.js';
import { twoRunners, type TwoRunners } from './testing/two-runners.js';

/** The store directory of a stream on a stopped server (`<store>/jetstream/<account>/streams/<name>`). */
function streamDir(server: TestNatsServer, stream: string): string {
  const found = readdirSync(server.dir, { recursive: true, encoding: 'utf8' }).find((path) =>
    path.endsWith(join('streams', stream)),
  );
  if (!found) throw new Error(`no store of stream ${stream} under ${server.dir}`);
  return join(server.dir, found);
}

describe('ConsumerRunner: a history rewritten under the consumer is replayed by time (own nats-servers)', () => {
  let old: TestNatsServer;
  let other: TestNatsServer;
  let nc: NatsConnection;
  let runner: ConsumerRunner;
  /** another process's runner, on a connection of its own */
  let elsewhere: ConsumerRunner;
  let processes: TwoRunners;
  let warnings: string[];

  before(async () => {
    [old, other] = await Promise.all([startNatsServer(), startNatsServer()]);
    processes = await twoRunners(old.url, 'rewritten-medium');
    ({ nc, runner, elsewhere, warnings } = processes);
  });
  after(async () => {
    await processes?.close();
    await Promise.all([old?.stop(), other?.stop()]);
  });

  it('handles every message of the new history, those under sequences it had passed included', async () => {
    const subjectA = Subjects.event(0, 'purchase');
    const subjectB = Subjects.event(1, 'purchase');
    const subjectC = Subjects.event(2, 'purchase');
    const durableA = 'rewritten-p0';
    const durableB = 'rewritten-p1';
    const durableC = 'rewritten-p2';
    const handled = new Set<string>();
    const consumerOf = (durable: string, filterSubject: string, where = runner) =>
      where.start<{ id: string }>({
        stream: Streams.EVENTS.name,
        durable,
        filterSubject,
        spanName: 'test',
        stage: 'context',
        handler: (d) => {
          handled.add(d.body.id);
          return Promise.resolve(Outcome.done());
        },
        fromAckFloor: true,
      });
    await consumerOf(durableA, subjectA);
    await consumerOf(durableB, subjectB);
    await consumerOf(durableC, subjectC, elsewhere);
    const publishAll = async (to: NatsConnection, subject: string, prefix: string, count: number) => {
      const js = jetstream(to);
      for (let i = 1; i <= count; i++)
        await js.publish(subject, encodeJson({ id: `${prefix}${i}` }), { msgID: `${prefix}${i}` });
    };

    // The history the consumers handle: ten messages of A's partition (stream sequences 1-10), ten of B's
    // (11-20), ten of C's (21-30), acknowledged, and seen by one watchdog poll since.
    await publishAll(nc, subjectA, 'old-a', 10);
    await publishAll(nc, subjectB, 'old-b', 10);
    await publishAll(nc, subjectC, 'old-c', 10);
    const jsm = await jetstreamManager(nc);
    const floorOf = async (durable: string) =>
      (await jsm.consumers.info(Streams.EVENTS.name, durable)).ack_floor.stream_seq;
    await waitUntil('the thirty handled and acknowledged', async () =>
      handled.size === 30 &&
      (await floorOf(durableA)) === 10 &&
      (await floorOf(durableB)) === 20 &&
      (await floorOf(durableC)) === 30
        ? true
        : undefined,
    );
    await new Promise((r) => setTimeout(r, LAG_POLL_MS + 1_000));
    // B's and C's partitions change hands (a lease moved): their consumers open again at their ack floors
    // with nothing handled since, so nothing of the old history is left for them to compare. C is in another
    // process.
    await runner.stop(durableB);
    await consumerOf(durableB, subjectB);
    await elsewhere.stop(durableC);
    await consumerOf(durableC, subjectC, elsewhere);

    // Another history of the same stream on the other server: five of B's (1-5), five of C's (6-10), then
    // twenty of A's (11-30).
    const otherConfig = loadConfig('cli', { NATS_URL: other.url, OTEL_TRACES_EXPORTER: 'none' });
    const toOther = await connectNats(otherConfig.nats, 'rewritten-medium-other');
    await applyStreams(toOther, otherConfig.nats);
    await publishAll(toOther, subjectB, 'new-b', 5);
    await publishAll(toOther, subjectC, 'new-c', 5);
    await publishAll(toOther, subjectA, 'new-a', 20);
    await toOther.close();

    // The rewrite: the old server's messages replaced by the other history; its consumers' state kept.
    await Promise.all([old.crash('SIGTERM'), other.crash('SIGTERM')]);
    const oldMsgs = join(streamDir(old, Streams.EVENTS.name), 'msgs');
    rmSync(oldMsgs, { recursive: true, force: true });
    cpSync(join(streamDir(other, Streams.EVENTS.name), 'msgs'), oldMsgs, { recursive: true });
    await old.restart();

    // A delivers what lies past its position at once, and its read-back of sequence 10 (old-a10, now new-c5)
    // finds the rewrite. B sits at its floor, 20, C at 30 — the new history's end — and new-b1..5 and
    // new-c1..5 lie below them: they would never see them, but A's finding replays the stream by time for B
    // (this process) and, through the hint, for C (the other one).
    const expected = [
      ...Array.from({ length: 20 }, (_, i) => `new-a${i + 1}`),
      ...Array.from({ length: 5 }, (_, i) => `new-b${i + 1}`),
      ...Array.from({ length: 5 }, (_, i) => `new-c${i + 1}`),
    ];
    await waitUntil(
      'every message of the new history handled',
      () => (expected.every((id) => handled.has(id)) ? true : undefined),
      60_000,
    );
    assert.ok(
      warnings.some((w) => w.includes(`${durableA}: EVENTS holds another message at stream sequence 10`)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.includes(`${durableB}: EVENTS's history changed under ${durableA}`)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) =>
        w.includes(`${durableC}: EVENTS's history changed under ${durableA} (another process)`),
      ),
      warnings.join('\n'),
    );
  });
});
