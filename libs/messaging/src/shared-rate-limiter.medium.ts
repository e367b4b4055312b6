/** SharedRateLimiter against the real NATS server: replicas share one bucket through LEASES. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SharedBucketState } from '@nunchi/access';
import { loadConfig } from '@nunchi/config';
import { connectNats } from './connection.js';
import { JetStreamRecords } from './lease-store.js';
import { SharedRateLimiter, type BucketStore, type RateAnswer } from './shared-rate-limiter.js';
import { applyStreams } from './streams.js';

describe('SharedRateLimiter (real NATS, stream LEASES)', () => {
  const connections: NatsConnection[] = [];
  const run = randomUUID().slice(0, 8);
  let config: ReturnType<typeof loadConfig>;

  before(async () => {
    config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
    const nc = await connectNats(config.nats, 'nunchi-medium-test');
    connections.push(nc);
    await applyStreams(nc, config.nats, ['LEASES']);
  });
  after(async () => {
    await Promise.all(connections.map((c) => c.drain()));
  });

  /** A replica: a limiter with a NATS connection of its own. */
  async function replica(onStoreError?: (scope: string, error: Error) => void) {
    const nc = await connectNats(config.nats, 'nunchi-medium-test');
    connections.push(nc);
    return new SharedRateLimiter(new JetStreamRecords<SharedBucketState>(nc, 1_000), {
      keyOf: (scope) => `test.rate.${run}.${scope}`,
      onStoreError,
    });
  }

  it('admits the burst plus the rate across three replicas, and answers each in the order asked', async () => {
    const rate = 40; // a burst of 40, chunks of 2
    const replicas = await Promise.all([replica(), replica(), replica()]);
    const order: number[] = [];
    const startedMs = Date.now();
    const answers: RateAnswer[] = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const answer = await replicas[i % 3].admit('shared', rate);
        order.push(i);
        return answer;
      }),
    );
    const seconds = (Date.now() - startedMs) / 1000;
    const admitted = answers.filter((a) => a.ok).length;
    const bound = rate + Math.ceil(seconds * rate) + 3 * 2;
    assert.ok(admitted >= rate, `the burst: ${admitted}`);
    assert.ok(admitted <= bound, `admitted ${admitted} in ${seconds.toFixed(2)} s, bound ${bound}`);
    for (const a of answers) if (!a.ok) assert.ok(a.retryAfterMs > 0);
    // Per replica, answers come in the order asked (a message never overtakes an earlier one of its scope).
    for (const r of [0, 1, 2]) {
      const mine = order.filter((i) => i % 3 === r);
      assert.deepEqual(
        mine,
        [...mine].sort((a, b) => a - b),
        `replica ${r}`,
      );
    }
  });

  it('keeps scopes apart: one scope over its rate does not hold another back', async () => {
    const limiter = await replica();
    let refused = false;
    for (let i = 0; i < 1_000 && !refused; i++) refused = !(await limiter.admit('busy', 10)).ok;
    assert.ok(refused, 'busy went over its rate');
    assert.equal((await limiter.admit('quiet', 10)).ok, true);
    assert.deepEqual(await limiter.admit('unlimited', 0), { ok: true }, 'rate 0: not limited');
  });

  it('makes a store on a connection whose JetStream does not answer without ending the process', async () => {
    // Ingestion makes its store at start-up and reads it at the first message: a JetStream check that failed
    // in between was an unhandled rejection, which ends a Node process.
    const nc = await connectNats(config.nats, 'nunchi-medium-test');
    await nc.close();
    const store = new JetStreamRecords<SharedBucketState>(nc, 200);
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(store.get('x'));
    const limiter = new SharedRateLimiter(store, { keyOf: (scope) => scope });
    assert.equal((await limiter.admit('x', 10)).ok, true, "this replica's own bucket meanwhile");
  });

  it('limits on its own when the store cannot be reached, and says so', async () => {
    const errors: string[] = [];
    const broken: BucketStore = {
      get: () => Promise.reject(new Error('store unreachable')),
      put: () => Promise.reject(new Error('store unreachable')),
    };
    const limiter = new SharedRateLimiter(broken, {
      keyOf: (scope) => scope,
      onStoreError: (scope, error) => errors.push(`${scope}: ${error.message}`),
    });
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => Promise.resolve(limiter.admit('x', 10))),
    );
    assert.equal(answers.filter((a) => a.ok).length, 10, "this replica's own bucket: the burst of 10");
    assert.deepEqual(errors, ['x: store unreachable'], 'one failed draw, then a second without asking');
  });
});
