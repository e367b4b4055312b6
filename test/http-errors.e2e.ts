import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decisionIdOf, type ErrorReply } from '@nunchi/contracts/core';
import { startServices, type RunningServices } from '../tools/services.js';
import { runId } from './support/harness.js';

/** Every service's HTTP API answers errors in ingestion's shape: {"ok":false,"error":{code,message,details}}. */
describe('one error shape on every HTTP API', () => {
  let services: RunningServices;
  const logs: string[] = [];
  const run = runId();

  before(async () => {
    services = await startServices({ log: (s, line) => logs.push(`${s} ${line}`) }).catch((error: Error) => {
      throw new Error(`${error.message}\n${logs.slice(-40).join('\n')}`);
    });
  });
  after(async () => services?.stop());

  const errorOf = async (url: string, init?: RequestInit) => {
    const r = await fetch(url, init);
    const body = (await r.json()) as ErrorReply;
    assert.equal(body.ok, false, JSON.stringify(body));
    // message is optional in the contract (ingestion's validation replies say it all in details)
    assert.deepEqual(
      Object.keys(body.error)
        .filter((k) => k !== 'message')
        .sort(),
      ['code', 'details'],
      JSON.stringify(body),
    );
    assert.ok(Array.isArray(body.error.details));
    return { status: r.status, error: body.error };
  };

  it('decision service: an unknown decision id is 404 NOT_FOUND with the id as detail', async () => {
    const { status, error } = await errorOf(`${services.urls.decision}/v1/decisions/d-nope${run}`);
    assert.equal(status, 404);
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.message, `no decision d-nope${run}`);
    assert.deepEqual(error.details, [{ path: 'id', message: 'no such decision' }]);
  });

  it('decision service: the decision of an event never decided is 404 NOT_FOUND naming the derived id', async () => {
    const { status, error } = await errorOf(
      `${services.urls.decision}/v1/events/t${run}-never/decision?channel=pos`,
    );
    assert.equal(status, 404);
    assert.equal(error.code, 'NOT_FOUND');
    assert.ok(error.message?.includes(decisionIdOf({ channel: 'pos', id: `t${run}-never` })), error.message);
  });

  it('decision service: the decision of an event without its channel is 400 (event ids are scoped per channel)', async () => {
    const { status, error } = await errorOf(`${services.urls.decision}/v1/events/t${run}-never/decision`);
    assert.equal(status, 400);
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.match(error.message ?? '', /\?channel=<channel>/);
  });

  it('context service: a customer never seen is 404 CUSTOMER_NOT_FOUND, not an empty profile', async () => {
    const { status, error } = await errorOf(`${services.urls.context}/v1/customers/t${run}-ghost/context`);
    assert.equal(status, 404);
    assert.equal(error.code, 'CUSTOMER_NOT_FOUND');
    assert.deepEqual(error.details, [{ path: 'id', message: 'no such customer' }]);
  });

  it('context service: a malformed customer id is 400 VALIDATION_FAILED', async () => {
    const { status, error } = await errorOf(`${services.urls.context}/v1/customers/bad%20id/context`);
    assert.equal(status, 400);
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(error.details[0]?.path, 'id');
  });

  it('an unknown route is 404 NOT_FOUND on every service', async () => {
    for (const url of Object.values(services.urls)) {
      const { status, error } = await errorOf(`${url}/v1/nothing-here`);
      assert.equal(status, 404, url);
      assert.equal(error.code, 'NOT_FOUND', url);
    }
  });

  it('ingestion keeps its codes: a body that is not JSON is 400 MALFORMED_JSON', async () => {
    const { status, error } = await errorOf(`${services.urls.ingestion}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(status, 400);
    assert.equal(error.code, 'MALFORMED_JSON');
  });
});
