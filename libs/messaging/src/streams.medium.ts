/**
 * Stream byte limits and discard policies against real nats-servers of the test's own (limits are
 * server-wide facts: reservations, a small max_file_store), so nothing here touches the suite's streams.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_STREAM_MAX_MIB, loadConfig, type NunchiConfig } from '@nunchi/config';
import { Streams, Subjects, type StreamName } from '@nunchi/contracts/core';
import { startNatsServer, type TestNatsServer } from '@nunchi/testing';
import { connectNats } from './connection.js';
import { applyStreams, checkStreams, StreamLayoutError } from './streams.js';

const MIB = 1_048_576;
const configFor = (url: string, env: Record<string, string> = {}): NunchiConfig =>
  loadConfig('cli', { NATS_URL: url, OTEL_TRACES_EXPORTER: 'none', ...env });

describe('stream byte limits (own nats-server)', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await nc?.drain();
    await server?.stop();
  });

  it('gives every stream its byte limit; EVENTS and ENRICHED discard new messages, the others old ones', async () => {
    const config = configFor(server.url);
    nc = await connectNats(config.nats, 'streams-medium');
    await applyStreams(nc, config.nats);
    const jsm = await jetstreamManager(nc);
    const seen: Record<string, [number, string]> = {};
    for (const name of Object.keys(Streams) as StreamName[]) {
      const c = (await jsm.streams.info(name)).config;
      seen[name] = [c.max_bytes / MIB, c.discard];
    }
    assert.deepEqual(seen, {
      EVENTS: [DEFAULT_STREAM_MAX_MIB.events, DiscardPolicy.New],
      ENRICHED: [DEFAULT_STREAM_MAX_MIB.enriched, DiscardPolicy.New],
      DECISIONS: [DEFAULT_STREAM_MAX_MIB.decisions, DiscardPolicy.Old],
      DLQ: [DEFAULT_STREAM_MAX_MIB.dlq, DiscardPolicy.Old],
      LEASES: [DEFAULT_STREAM_MAX_MIB.leases, DiscardPolicy.Old],
    });
  });

  it('at its limit, DLQ drops its oldest entries while EVENTS refuses new events and keeps every stored one', async () => {
    // Limits changed on the existing streams: applyStreams updates them in place.
    const config = configFor(server.url, {
      NUNCHI_STREAM_DLQ_MAX_MIB: '1',
      NUNCHI_STREAM_EVENTS_MAX_MIB: '1',
    });
    await applyStreams(nc, config.nats, ['EVENTS', 'DLQ']);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const chunk = new Uint8Array(64 * 1024).fill(120);

    for (let i = 0; i < 40; i++) await js.publish(Subjects.dlq('ingestion'), chunk); // 2.5 MiB into 1 MiB
    const dlq = (await jsm.streams.info('DLQ')).state;
    assert.ok(dlq.bytes <= MIB, `${dlq.bytes} bytes`);
    assert.ok(dlq.first_seq > 1, 'the oldest rejected input made room');
    assert.equal(dlq.last_seq, 40, 'every new entry was stored');

    let refused: Error | undefined;
    let stored = 0;
    for (let i = 0; i < 40 && !refused; i++) {
      try {
        await js.publish(Subjects.event(0, 'purchase'), chunk, { msgID: `flood-${i}` });
        stored++;
      } catch (e) {
        refused = e as Error;
      }
    }
    assert.ok(refused, 'EVENTS must refuse once full');
    assert.match(refused.message, /maximum bytes exceeded/i);
    const events = (await jsm.streams.info('EVENTS')).state;
    assert.equal(events.first_seq, 1, 'no stored event was dropped');
    assert.equal(events.messages, stored);
  });
});

describe('stream byte limits on a server without room for them', () => {
  let server: TestNatsServer;
  let nc: NatsConnection | undefined;

  before(async () => {
    server = await startNatsServer({ config: 'jetstream { store_dir: "{{store}}", max_file_store: 64MB }' });
  });
  after(async () => {
    await nc?.drain();
    await server?.stop();
  });

  it('says which variable to lower instead of failing on a JetStream error code', async () => {
    const config = configFor(server.url);
    nc = await connectNats(config.nats, 'streams-medium-small');
    await assert.rejects(applyStreams(nc, config.nats), (e: unknown) => {
      assert.ok(e instanceof StreamLayoutError, String(e));
      assert.match(
        e.message,
        /cannot reserve the byte limit of stream EVENTS \(NUNCHI_STREAM_EVENTS_MAX_MIB\)/,
      );
      return true;
    });
    // with limits that fit, the same server takes them all
    const small = configFor(server.url, {
      NUNCHI_STREAM_EVENTS_MAX_MIB: '16',
      NUNCHI_STREAM_ENRICHED_MAX_MIB: '16',
      NUNCHI_STREAM_DECISIONS_MAX_MIB: '8',
      NUNCHI_STREAM_DLQ_MAX_MIB: '8',
      NUNCHI_STREAM_LEASES_MAX_MIB: '1',
    });
    await applyStreams(nc, small.nats);
  });
});

describe('streams are owned by the migration step (own nats-server)', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startNatsServer();
    nc = await connectNats(configFor(server.url).nats, 'streams-medium-owned');
  });
  after(async () => {
    await nc?.drain();
    await server?.stop();
  });

  it('a service refuses missing streams and fewer replicas than configured, names the fix, and changes nothing', async () => {
    const config = configFor(server.url);
    await assert.rejects(checkStreams(nc, config.nats), (e: unknown) => {
      assert.ok(e instanceof StreamLayoutError);
      assert.match(e.message, /stream EVENTS does not exist/);
      assert.match(e.message, /run "nunchi migrate" \(or "nunchi streams apply"\)/);
      return true;
    });
    const jsm = await jetstreamManager(nc);
    assert.deepEqual((await jsm.streams.names().next()).length, 0, 'the check created nothing');

    await applyStreams(nc, config.nats);
    await checkStreams(nc, config.nats);
    const production = configFor(server.url, { NUNCHI_STREAM_REPLICAS: '3' });
    await assert.rejects(checkStreams(nc, production.nats), (e: unknown) => {
      assert.ok(e instanceof StreamLayoutError);
      assert.match(e.message, /stream EVENTS has 1 replica\(s\), fewer than NUNCHI_STREAM_REPLICAS=3/);
      assert.match(e.message, /NATS cluster of at least that many servers/);
      return true;
    });
    assert.equal((await jsm.streams.info('EVENTS')).config.num_replicas, 1, 'not reset by the check');
  });
});
