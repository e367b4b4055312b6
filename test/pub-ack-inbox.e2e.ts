import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { Subjects } from '@nunchi/contracts/core';
import { connectNats, PubAckInbox, PubAckTimeoutError } from '@nunchi/messaging';
import { migrateStreams, runId } from './support/harness.js';

/** libs/messaging PubAckInbox against the real NATS server: every way a publish can end. */
describe('PubAckInbox (medium: real NATS, no services)', () => {
  let nc: NatsConnection;
  let inbox: PubAckInbox;
  const run = runId();

  before(async () => {
    const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
    nc = await connectNats(config.nats, 'nunchi-test-pubacks');
    await migrateStreams();
    inbox = new PubAckInbox(nc, 400);
  });
  after(async () => {
    inbox?.close();
    await nc?.drain();
  });

  const msgId = (id: string) => {
    const h = headers();
    h.set('Nats-Msg-Id', id);
    return h;
  };

  it('resolves with the PubAck once stored, and says duplicate for a repeated msgID', async () => {
    const subject = Subjects.dlq('analytics');
    const first = await inbox.publish(subject, new TextEncoder().encode('{}'), msgId(`t${run}-1`));
    assert.equal(first.stream, 'DLQ');
    assert.equal(first.duplicate, false);
    const again = await inbox.publish(subject, new TextEncoder().encode('{}'), msgId(`t${run}-1`));
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        inbox.publish(subject, new Uint8Array(0), msgId(`t${run}-m${i}`)),
      ),
    );
    assert.deepEqual(
      many.map((a) => a.seq),
      many.map((_, i) => many[0].seq + i),
      'stored in the order published',
    );
    assert.equal(inbox.inFlight, 0);
  });

  it('rejects at once when no stream takes the subject, on an error reply, and after the deadline when nothing answers', async () => {
    await assert.rejects(inbox.publish(`t${run}.nowhere`, new Uint8Array(0), headers()), /no responders/);
    const failing = nc.subscribe(`t${run}.failing`, {
      callback: (_e, m) =>
        void m.respond(
          JSON.stringify({ error: { code: 503, err_code: 10077, description: 'maximum messages exceeded' } }),
        ),
    });
    await assert.rejects(
      inbox.publish(`t${run}.failing`, new Uint8Array(0), headers()),
      /maximum messages exceeded/,
    );
    const silent = nc.subscribe(`t${run}.silent`, { callback: () => undefined });
    const started = Date.now();
    await assert.rejects(inbox.publish(`t${run}.silent`, new Uint8Array(0), headers()), PubAckTimeoutError);
    assert.ok(Date.now() - started < 2_000, 'the deadline is kept within a sweep');
    failing.unsubscribe();
    silent.unsubscribe();
    assert.equal(inbox.inFlight, 0);
  });
});
