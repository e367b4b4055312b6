/**
 * ConsumerRunner against a stream whose history is rewritten under its consumer, on a real nats-server: what
 * nats-server 2.9.10 did on a three-host cluster after a partition healed (docs/reliability.md, "A stream's
 * history rewound under its consumers") — other messages stored under sequences the consumer had already
 * handled, below the stream's new end, which the consumer would therefore never deliver. Made here without a
 * cluster, deterministically: the server is stopped, its stream's message store replaced by that of a second
 * server holding another history (the consumer's own state, its position, kept), and started again. The
 * consumer then delivers only the new history's messages past its old position, at once; the watchdog's
 * read-back of a message handled before finds another one there and replays the stream by time, so every
 * message of the new history is handled.
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
import { Publisher } from './publisher.js';
import { applyStreams } from './streams.js';

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
  const warnings: string[] = [];

  before(async () => {
    [old, other] = await Promise.all([startNatsServer(), startNatsServer()]);
    const config = loadConfig('cli', { NATS_URL: old.url, OTEL_TRACES_EXPORTER: 'none' });
    nc = await connectNats(config.nats, 'rewritten-medium');
    await applyStreams(nc, config.nats);
    runner = new ConsumerRunner(nc, new Publisher(nc), {
      log: () => undefined,
      warn: (m) => warnings.push(m),
      error: () => undefined,
    });
  });
  after(async () => {
    await runner?.stop();
    await nc?.close();
    await Promise.all([old?.stop(), other?.stop()]);
  });

  it('handles every message of the new history, those under sequences it had passed included', async () => {
    const subject = Subjects.event(0, 'purchase');
    const durable = 'rewritten-p0';
    const handled = new Set<string>();
    await runner.start<{ id: string }>({
      stream: Streams.EVENTS.name,
      durable,
      filterSubject: subject,
      spanName: 'test',
      stage: 'context',
      handler: (d) => {
        handled.add(d.body.id);
        return Promise.resolve(Outcome.done());
      },
      fromAckFloor: true,
    });
    const publishAll = async (to: NatsConnection, prefix: string, count: number) => {
      const js = jetstream(to);
      for (let i = 1; i <= count; i++)
        await js.publish(subject, encodeJson({ id: `${prefix}${i}` }), { msgID: `${prefix}${i}` });
    };

    // The history the consumer handles: ten messages, acknowledged, and seen by one watchdog poll since.
    await publishAll(nc, 'old-', 10);
    const jsm = await jetstreamManager(nc);
    await waitUntil('the ten handled and acknowledged', async () =>
      handled.size === 10 &&
      (await jsm.consumers.info(Streams.EVENTS.name, durable)).ack_floor.stream_seq === 10
        ? true
        : undefined,
    );
    await new Promise((r) => setTimeout(r, LAG_POLL_MS + 1_000));

    // Another history of the same stream, fifteen messages long, on the other server.
    const otherConfig = loadConfig('cli', { NATS_URL: other.url, OTEL_TRACES_EXPORTER: 'none' });
    const toOther = await connectNats(otherConfig.nats, 'rewritten-medium-other');
    await applyStreams(toOther, otherConfig.nats);
    await publishAll(toOther, 'new-', 15);
    await toOther.close();

    // The rewrite: the old server's messages replaced by the other history; its consumer's state kept.
    await Promise.all([old.crash('SIGTERM'), other.crash('SIGTERM')]);
    const oldMsgs = join(streamDir(old, Streams.EVENTS.name), 'msgs');
    rmSync(oldMsgs, { recursive: true, force: true });
    cpSync(join(streamDir(other, Streams.EVENTS.name), 'msgs'), oldMsgs, { recursive: true });
    await old.restart();

    const expected = Array.from({ length: 15 }, (_, i) => `new-${i + 1}`);
    await waitUntil(
      'every message of the new history handled',
      () => (expected.every((id) => handled.has(id)) ? true : undefined),
      60_000,
    );
    assert.ok(
      warnings.some((w) => w.includes(`${durable}: EVENTS holds another message at stream sequence 10`)),
      warnings.join('\n'),
    );
  });
});
