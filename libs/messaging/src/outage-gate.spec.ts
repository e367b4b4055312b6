import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { JetStreamApiError } from '@nats-io/jetstream';
import { isInfrastructureError, unavailableDependency } from './infrastructure.js';
import { OutageGate, StoppedError } from './outage-gate.js';
import { PubAckTimeoutError } from './pub-ack-inbox.js';

const { errors, types } = cassandra;

describe('infrastructure errors', () => {
  it('names Cassandra unavailability, timeouts and overload, whatever the statement', () => {
    assert.equal(unavailableDependency(new errors.NoHostAvailableError({})), 'cassandra');
    assert.equal(
      unavailableDependency(new errors.OperationTimedOutError('no answer', '127.0.0.1:9042')),
      'cassandra',
    );
    assert.equal(
      unavailableDependency(new errors.ResponseError(types.responseErrorCodes.unavailableException, 'x')),
      'cassandra',
    );
    assert.equal(
      unavailableDependency(new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'x')),
      'cassandra',
    );
    assert.equal(
      unavailableDependency(new errors.ResponseError(types.responseErrorCodes.overloaded, 'x')),
      'cassandra',
    );
  });

  it('names NATS disconnects, missing acknowledgements and a full stream', () => {
    assert.equal(
      unavailableDependency(new PubAckTimeoutError('the stream did not acknowledge in time')),
      'nats',
    );
    assert.equal(unavailableDependency(new Error('connection closed before the stream answered')), 'nats');
    const full = new JetStreamApiError({
      code: 503,
      err_code: 10077,
      description: 'maximum messages exceeded',
    });
    assert.equal(unavailableDependency(full), 'nats');
    const wrapped = new Error('publish failed', {
      cause: Object.assign(new Error('x'), { name: 'ClosedConnectionError' }),
    });
    assert.equal(unavailableDependency(wrapped), 'nats');
  });

  it('leaves the message’s own errors alone: invalid statements, validation, logic', () => {
    assert.equal(
      isInfrastructureError(new errors.ResponseError(types.responseErrorCodes.syntaxError, 'bad CQL')),
      false,
    );
    assert.equal(
      isInfrastructureError(new errors.ResponseError(types.responseErrorCodes.invalid, 'Batch too large')),
      false,
    );
    assert.equal(
      isInfrastructureError(new TypeError("Cannot read properties of undefined (reading 'id')")),
      false,
    );
    assert.equal(
      isInfrastructureError(
        new JetStreamApiError({ code: 400, err_code: 10071, description: 'wrong last sequence' }),
      ),
      false,
    );
    assert.equal(isInfrastructureError('a string'), false);
  });
});

describe('OutageGate', () => {
  const infra = (e: unknown) => ((e as Error).message === 'down' ? ('cassandra' as const) : undefined);

  it('waits an outage out: retries until it succeeds, one probe at a time, and the others wait for it', async () => {
    const gate = new OutageGate({ maxDelayMs: 20 });
    let down = true;
    let concurrentWhileDown = 0;
    let maxConcurrentWhileDown = 0;
    const attempts: number[] = [0, 0, 0];
    const run = (i: number) =>
      gate.run(
        async () => {
          attempts[i]++;
          if (down) {
            concurrentWhileDown++;
            maxConcurrentWhileDown = Math.max(maxConcurrentWhileDown, concurrentWhileDown);
            await new Promise((r) => setTimeout(r, 5));
            concurrentWhileDown--;
            throw new Error('down');
          }
          return i;
        },
        infra,
        new AbortController().signal,
      );
    const first = run(0);
    // Until the gate has closed (a fixed sleep was not always long enough on a loaded machine).
    while (!gate.outage) await new Promise((r) => setTimeout(r, 1));
    const others = [run(1), run(2)];
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(gate.outage, 'closed during the outage');
    assert.equal(gate.outage.dependency, 'cassandra');
    assert.equal(maxConcurrentWhileDown, 1, 'one probe at a time while down');
    down = false;
    assert.deepEqual(await Promise.all([first, ...others]), [0, 1, 2]);
    assert.equal(gate.outage, undefined);
  });

  it('lets the message’s own errors through at once, without closing the gate', async () => {
    const gate = new OutageGate();
    await assert.rejects(
      gate.run(() => Promise.reject(new Error('invalid')), infra, new AbortController().signal),
      /invalid/,
    );
    assert.equal(gate.outage, undefined);
  });

  it('gives up waiting when the consumer stops (StoppedError), leaving the message unsettled', async () => {
    const gate = new OutageGate({ maxDelayMs: 1_000 });
    const stop = new AbortController();
    const waiting = gate.run(() => Promise.reject(new Error('down')), infra, stop.signal);
    setTimeout(() => stop.abort(), 50);
    await assert.rejects(waiting, StoppedError);
  });
});
