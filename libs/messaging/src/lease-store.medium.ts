/** JetStreamLeaseStore and PartitionOwnership against the real NATS server (JetStream stream LEASES). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { connectNats } from './connection.js';
import { JetStreamLeaseStore } from './lease-store.js';
import { PartitionOwnership } from './partition-ownership.js';
import { applyStreams } from './streams.js';

describe('JetStreamLeaseStore (real NATS)', () => {
  let nc: NatsConnection;
  let store: JetStreamLeaseStore;
  const group = `t${randomUUID().slice(0, 8)}`;

  before(async () => {
    const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
    nc = await connectNats(config.nats, 'nunchi-medium-test');
    await applyStreams(nc, config.nats, ['LEASES']);
    store = new JetStreamLeaseStore(nc);
  });
  after(async () => {
    await nc?.drain();
  });

  it('creates a key only if absent, and updates it only from the revision read (compare-and-set)', async () => {
    const key = `${group}.partition.0`;
    assert.equal(await store.get(key), undefined);
    const r1 = await store.put(key, { owner: 'a' }, 0);
    assert.equal(typeof r1, 'number');
    assert.equal(await store.put(key, { owner: 'b' }, 0), 'conflict', 'a second create must fail');
    const r2 = await store.put(key, { owner: 'a' }, r1 as number);
    assert.equal(typeof r2, 'number');
    assert.equal(
      await store.put(key, { owner: 'b' }, r1 as number),
      'conflict',
      'a stale revision must fail',
    );
    const record = await store.get(key);
    assert.deepEqual([record?.value, record?.revision], [{ owner: 'a' }, r2]);
    assert.ok(Math.abs(record!.writtenAtMs - Date.now()) < 60_000, 'stamped by the server at write time');
  });

  it('lists keys under a prefix', async () => {
    await store.put(`${group}.member.m1`, { owner: 'm1' });
    await store.put(`${group}.member.m2`, { owner: 'm2' });
    assert.deepEqual((await store.keys(`${group}.member.`)).sort(), [
      `${group}.member.m1`,
      `${group}.member.m2`,
    ]);
  });

  it('splits partitions between two replicas with no partition consumed twice', async () => {
    const consuming = new Map<number, string>();
    const replica = (memberId: string) =>
      new PartitionOwnership({
        group: `${group}x`,
        memberId,
        partitions: 8,
        store,
        ttlMs: 2_000,
        onAcquire: (p) => {
          assert.equal(
            consuming.get(p),
            undefined,
            `partition ${p} taken by ${memberId} while ${consuming.get(p)} consumes it`,
          );
          consuming.set(p, memberId);
          return Promise.resolve();
        },
        onRelease: (p) => {
          consuming.delete(p);
          return Promise.resolve();
        },
      });
    const held = (r: PartitionOwnership): number => r.owned.length;
    const a = replica('a');
    const b = replica('b');
    await a.start();
    assert.equal(a.owned.length, 8);
    await b.start();
    const deadline = Date.now() + 10_000;
    while ((held(a) !== 4 || held(b) !== 4) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([a.owned.length, b.owned.length], [4, 4]);
    await a.stop();
    while (held(b) !== 8 && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.owned.length, 8, 'b takes over after a leaves');
    await b.stop();
  });
});
