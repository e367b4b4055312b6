import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLeaseStore, type LeaseStore } from './lease-store.js';
import { PartitionOwnership, shareOf, type ReleaseReason } from './partition-ownership.js';

const TTL = 6_000;

/** Replicas sharing one store and one fake clock; records who consumes what and fails on any overlap. */
function cluster(partitions = 16) {
  let now = 0;
  const store = new MemoryLeaseStore(() => now);
  const consuming = new Map<number, string>();
  const overlaps: string[] = [];
  const releases: Array<{ member: string; partition: number; reason: ReleaseReason }> = [];
  const replica = (memberId: string, view: LeaseStore = store) =>
    new PartitionOwnership({
      group: 'test',
      memberId,
      partitions,
      store: view,
      ttlMs: TTL,
      clock: () => now,
      onAcquire: (p) => {
        const other = consuming.get(p);
        // Recorded, not only thrown: PartitionOwnership catches a failing onAcquire and releases the partition.
        if (other !== undefined)
          overlaps.push(`partition ${p}: ${memberId} starts while ${other} still consumes it`);
        consuming.set(p, memberId);
        return Promise.resolve();
      },
      onRelease: (p, reason) => {
        if (consuming.get(p) === memberId) consuming.delete(p);
        releases.push({ member: memberId, partition: p, reason });
        return Promise.resolve();
      },
    });
  return {
    store,
    consuming,
    overlaps,
    releases,
    replica,
    advance: (ms: number) => (now += ms),
    /** one round of every given replica a quarter TTL apart, with renewals and fence checks every eighth (the real cadence) */
    async rounds(n: number, ...replicas: PartitionOwnership[]) {
      for (let i = 0; i < n; i++) {
        for (const r of replicas) await r.tick();
        for (const half of [0, 1]) {
          if (half === 1) now += TTL / 8;
          for (const r of replicas) await r.renew();
          for (const r of replicas) await r.fence();
        }
        now += TTL / 8;
      }
    },
  };
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('PartitionOwnership', () => {
  it('a lone replica takes every partition in its first round', async () => {
    const c = cluster();
    const a = c.replica('a');
    await a.tick();
    assert.deepEqual(a.owned, all(16));
    assert.equal(c.consuming.size, 16);
  });

  it('a second replica gets half, handed over cleanly: the first stops before the second starts', async () => {
    const c = cluster();
    const a = c.replica('a');
    const b = c.replica('b');
    await c.rounds(2, a);
    await c.rounds(4, a, b);
    assert.equal(a.owned.length, 8);
    assert.equal(b.owned.length, 8);
    assert.deepEqual(
      [...a.owned, ...b.owned].sort((x, y) => x - y),
      all(16),
    );
    assert.ok(c.releases.every((r) => r.member === 'a' && r.reason === 'rebalance'));
    assert.deepEqual(c.overlaps, []);
    assert.equal(c.releases.length, 8);
  });

  it('shares 16 partitions 6/5/5 among three replicas, and stays put once balanced', async () => {
    const c = cluster();
    const rs = ['a', 'b', 'c'].map((m) => c.replica(m));
    await c.rounds(6, ...rs);
    assert.deepEqual(
      rs.map((r) => r.owned.length),
      [6, 5, 5],
    );
    const before = c.releases.length;
    await c.rounds(10, ...rs);
    assert.equal(c.releases.length, before, 'no churn once balanced');
    assert.deepEqual(c.overlaps, []);
  });

  it("takes over a dead replica's partitions only after its leases have expired", async () => {
    const c = cluster();
    const a = c.replica('a');
    const b = c.replica('b');
    await c.rounds(4, a, b);
    const orphaned = a.owned;
    // a dies (SIGKILL): no more rounds, no release; its consumers die with it.
    for (const p of orphaned) c.consuming.delete(p);
    await c.rounds(3, b); // 4.5 s: under a TTL after a's last renewal
    assert.ok(
      orphaned.every((p) => !c.consuming.has(p)),
      'taken over before the lease expired',
    );
    await c.rounds(3, b);
    assert.deepEqual(b.owned, all(16));
    assert.deepEqual(c.overlaps, []);
  });

  it('a replica starting long after another was killed counts it dead at once (the store stamps records)', async () => {
    const c = cluster();
    const a = c.replica('a');
    await c.rounds(2, a);
    for (const p of a.owned) c.consuming.delete(p); // a is killed: no release
    c.advance(3 * TTL);
    const b = c.replica('b');
    await b.tick();
    assert.deepEqual(b.owned, all(16));
    assert.deepEqual(b.members, ['b']);
    assert.deepEqual(c.overlaps, []);
  });

  it('a replica that cannot reach the store stops within half a TTL, before anyone may take over', async () => {
    const c = cluster();
    let cutOff = false;
    // a's own view of the store, which can be cut off while b still reaches it
    const view: LeaseStore = {
      get: (key) => (cutOff ? Promise.reject(new Error('unreachable')) : c.store.get(key)),
      put: (key, value, expected) =>
        cutOff ? Promise.reject(new Error('unreachable')) : c.store.put(key, value, expected),
      keys: (prefix) => (cutOff ? Promise.reject(new Error('unreachable')) : c.store.keys(prefix)),
    };
    const a = c.replica('a', view);
    const b = c.replica('b');
    await c.rounds(4, a, b);
    const held = a.owned;
    const releasedBefore = c.releases.length;
    cutOff = true;
    // Each step is an eighth of a TTL: a's fence must fire before b's takeover (onAcquire throws on overlap).
    for (let i = 0; i < 16; i++) {
      if (i % 2 === 0) await b.tick(); // b first: a fence that fires only as b may take over is too late
      await b.renew();
      if (i % 2 === 0) await a.tick();
      await a.renew();
      await a.fence();
      c.advance(TTL / 8);
    }
    assert.equal(a.owned.length, 0);
    assert.deepEqual(
      c.releases
        .slice(releasedBefore)
        .filter((r) => r.member === 'a')
        .map((r) => r.reason),
      held.map(() => 'expired'),
    );
    assert.ok(
      held.every((p) => c.consuming.get(p) === 'b'),
      'b took over',
    );
    assert.deepEqual(c.overlaps, []);
  });

  it('on a clean stop the partitions move at the next round, without waiting for a TTL', async () => {
    const c = cluster();
    const a = c.replica('a');
    const b = c.replica('b');
    await c.rounds(4, a, b);
    await a.stop();
    await b.tick();
    assert.deepEqual(b.owned, all(16));
    assert.deepEqual(c.overlaps, []);
  });

  it('a lease taken over while its owner was paused is reported lost', async () => {
    const c = cluster(4);
    const a = c.replica('a');
    await a.tick();
    // Someone overwrites partition 0 behind a's back (as if a had been paused past its TTL).
    const record = await c.store.get('test.partition.0');
    await c.store.put('test.partition.0', { owner: 'z' }, record!.revision);
    await a.renew();
    assert.ok(!a.owns(0));
    assert.deepEqual(c.releases.at(-1), { member: 'a', partition: 0, reason: 'lost' });
  });

  it('renewals do not wait for a round: leases are kept while every round hangs on its reads', async () => {
    const c = cluster(4);
    let readsHang = false;
    const view: LeaseStore = {
      get: (key) => (readsHang ? new Promise(() => undefined) : c.store.get(key)),
      put: (key, value, expected) => c.store.put(key, value, expected),
      keys: (prefix) => (readsHang ? new Promise(() => undefined) : c.store.keys(prefix)),
    };
    const a = c.replica('a', view);
    await c.rounds(1, a);
    assert.deepEqual(a.owned, all(4));
    readsHang = true;
    void a.tick(); // never finishes: its reads hang
    for (let i = 0; i < 24; i++) {
      await a.renew();
      await a.fence();
      c.advance(TTL / 8);
    }
    assert.deepEqual(a.owned, all(4));
    assert.deepEqual(
      c.releases.filter((r) => r.member === 'a'),
      [],
    );
  });

  it('a renewal whose write landed after its reply timed out keeps the lease (the record still names it)', async () => {
    const c = cluster(2);
    let loseNextReply = false;
    const view: LeaseStore = {
      get: (key) => c.store.get(key),
      put: async (key, value, expected) => {
        const revision = await c.store.put(key, value, expected);
        if (!loseNextReply) return revision;
        loseNextReply = false;
        throw new Error('timeout'); // written, but the reply never came
      },
      keys: (prefix) => c.store.keys(prefix),
    };
    const a = c.replica('a', view);
    await c.rounds(1, a);
    loseNextReply = true;
    await a.renew(); // partition 0's write lands, its reply is lost
    await a.renew(); // compare-and-set on the old revision is refused: the record names a
    await c.rounds(2, a);
    assert.deepEqual(a.owned, all(2));
    assert.deepEqual(c.releases, []);
    // Whereas a record naming another replica is a lease lost.
    const record = await c.store.get('test.partition.1');
    await c.store.put('test.partition.1', { owner: 'z' }, record!.revision);
    await a.renew();
    assert.deepEqual(a.owned, [0]);
    assert.deepEqual(c.releases, [{ member: 'a', partition: 1, reason: 'lost' }]);
  });

  it('shareOf: floor, plus one for the first P mod n members', () => {
    assert.deepEqual(
      ['a', 'b', 'c'].map((m) => shareOf(m, ['a', 'b', 'c'], 16)),
      [6, 5, 5],
    );
    assert.equal(shareOf('a', ['a'], 16), 16);
    assert.deepEqual(
      ['a', 'b'].map((m) => shareOf(m, ['a', 'b'], 1)),
      [1, 0],
    );
  });
});
