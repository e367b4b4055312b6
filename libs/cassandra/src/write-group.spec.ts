import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { refusedStatement, WriteGroup, type BatchStatement } from './write-group.js';

/** A request sender that holds each request until released, and records what each carried. */
function heldRequests(fail: (statements: BatchStatement[]) => Error | undefined = () => undefined) {
  const requests: { statements: BatchStatement[]; release: () => void }[] = [];
  const send = (statements: BatchStatement[]) =>
    new Promise<void>((resolve, reject) => {
      requests.push({
        statements,
        release: () => {
          const error = fail(statements);
          if (error) reject(error);
          else resolve();
        },
      });
    });
  return { requests, send };
}

const { responseErrorCodes } = cassandra.types;
/** What a node answers to a statement it will not take, and to a write it could not make in time. */
const invalid = () => new cassandra.errors.ResponseError(responseErrorCodes.invalid, 'refused');
const timedOut = () => new cassandra.errors.ResponseError(responseErrorCodes.writeTimeout, 'timed out');

const write = (id: string, n = 1): BatchStatement[] =>
  Array.from({ length: n }, (_, i) => ({ query: `INSERT ${id}`, params: [`${id}:${i}`] }));

/** How one caller's write ended: "<id> stored", or "<id> <error message>". */
const outcomeOf = (id: string, written: Promise<void>) =>
  written.then(
    () => `${id} stored`,
    (error: Error) => `${id} ${error.message}`,
  );

/** Lets queued promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteGroup: the writes of many callers in one request', () => {
  it('sends a write alone at once when nothing is in flight', async () => {
    const { requests, send } = heldRequests();
    const group = new WriteGroup(send, refusedStatement);
    const done = group.write(write('a', 2));
    assert.equal(requests.length, 1, 'sent without waiting for a timer');
    assert.deepEqual(
      requests[0].statements.map((s) => s.params[0]),
      ['a:0', 'a:1'],
    );
    requests[0].release();
    await done;
  });

  it('sends the writes that arrive while a request is in flight together, in order, when it returns', async () => {
    const { requests, send } = heldRequests();
    const group = new WriteGroup(send, refusedStatement);
    const settled: string[] = [];
    const first = group.write(write('a')).then(() => settled.push('a'));
    const later = ['b', 'c', 'd'].map((id) => group.write(write(id, 2)).then(() => settled.push(id)));
    await settle();
    assert.equal(requests.length, 1, 'one request in flight at a time');
    assert.deepEqual(settled, [], 'nothing resolves before its request returns');
    requests[0].release();
    await first;
    await settle();
    assert.equal(requests.length, 2);
    assert.deepEqual(
      requests[1].statements.map((s) => s.params[0]),
      ['b:0', 'b:1', 'c:0', 'c:1', 'd:0', 'd:1'],
    );
    assert.deepEqual(settled, ['a'], 'the grouped writes wait for their own request');
    requests[1].release();
    await Promise.all(later);
    assert.deepEqual(settled, ['a', 'b', 'c', 'd']);
  });

  it('keeps a group within its statement and byte limits, and never splits one caller', async () => {
    const { requests, send } = heldRequests();
    const group = new WriteGroup(send, refusedStatement, { maxStatements: 4, maxBytes: 1_000 });
    const all = [group.write(write('a')), group.write(write('b', 3)), group.write(write('c', 2))];
    all.push(group.write([{ query: 'INSERT big', params: ['x'.repeat(2_000)] }]));
    all.push(group.write(write('e', 6)));
    // Release each request as it is sent, until all five are.
    for (let released = 0; released < 5;) {
      await settle();
      while (released < requests.length) requests[released++].release();
    }
    await Promise.all(all);
    assert.deepEqual(
      requests.map((r) => r.statements.map((s) => String(s.params[0]).slice(0, 3))),
      [['a:0'], ['b:0', 'b:1', 'b:2'], ['c:0', 'c:1'], ['xxx'], ['e:0', 'e:1', 'e:2', 'e:3', 'e:4', 'e:5']],
      'a caller over the limits alone goes in a request of its own',
    );
  });

  it('when a grouped request fails, sends each caller again alone: only the bad one is refused', async () => {
    const bad = (statements: BatchStatement[]) =>
      statements.some((s) => s.query === 'INSERT bad') ? invalid() : undefined;
    const { requests, send } = heldRequests(bad);
    const group = new WriteGroup(send, refusedStatement);
    const first = group.write(write('a'));
    const outcomes = ['b', 'bad', 'c'].map((id) => outcomeOf(id, group.write(write(id))));
    requests[0].release();
    await first;
    await settle();
    assert.equal(requests.length, 2);
    requests[1].release(); // the group of three: refused
    await settle();
    assert.equal(requests.length, 5, 'then one request per caller');
    for (const r of requests.slice(2)) r.release();
    assert.deepEqual(await Promise.all(outcomes), ['b stored', 'bad refused', 'c stored']);
  });

  it('resolves an empty write without a request, and a failed lone write rejects its caller', async () => {
    const { requests, send } = heldRequests(() => invalid());
    const group = new WriteGroup(send, refusedStatement);
    await group.write([]);
    assert.equal(requests.length, 0);
    const lone = group.write(write('a'));
    requests[0].release();
    await assert.rejects(lone, /refused/);
    assert.equal(requests.length, 1, 'not sent again: its caller retries');
  });

  it('when a grouped request fails for the node’s sake (a timeout), fails every caller at once, sending nothing again', async () => {
    const { requests, send } = heldRequests((statements) => (statements.length > 1 ? timedOut() : undefined));
    const group = new WriteGroup(send, refusedStatement);
    const first = group.write(write('a'));
    const outcomes = ['b', 'c'].map((id) => outcomeOf(id, group.write(write(id))));
    requests[0].release();
    await first;
    await settle();
    requests[1].release();
    assert.deepEqual(await Promise.all(outcomes), ['b timed out', 'c timed out']);
    assert.equal(requests.length, 2, 'not sent again caller by caller');
  });

  it('tells a refused statement from an unavailable node', () => {
    assert.equal(refusedStatement(invalid()), true);
    assert.equal(
      refusedStatement(new cassandra.errors.ResponseError(responseErrorCodes.syntaxError, 'x')),
      true,
    );
    assert.equal(refusedStatement(timedOut()), false);
    assert.equal(
      refusedStatement(new cassandra.errors.ResponseError(responseErrorCodes.unavailableException, 'x')),
      false,
    );
    assert.equal(refusedStatement(new cassandra.errors.NoHostAvailableError({})), false);
    assert.equal(refusedStatement(new cassandra.errors.OperationTimedOutError('x')), false);
    assert.equal(refusedStatement(new Error('x')), false);
  });
});
