import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitLossDetails, type CandidateLoss, type DecisionRecord } from '@nunchi/contracts/core';
import { CustomerKeyring, decisionInputsOpener } from './customer-keyring.js';
import type { CustomerKeyRepository, StoredCustomerKey } from './repositories/customer-key.repository.js';

const k1 = { id: 'k1', secret: 'a-secret-of-at-least-16-chars' };
const k2 = { id: 'k2', secret: 'the-next-identity-secret-16+' };

/** customer_keys and erased_customers in memory, counting reads: the keyring's logic, not Cassandra's */
function memoryRepository() {
  const rows = new Map<string, StoredCustomerKey>();
  const erased = new Map<string, Date>();
  const calls = { get: 0, create: 0, rewrap: 0 };
  const repository = {
    get: (id: string) => {
      calls.get++;
      return Promise.resolve(rows.get(id));
    },
    create: (id: string, key: StoredCustomerKey) => {
      calls.create++;
      if (!rows.has(id)) rows.set(id, key);
      return Promise.resolve(rows.get(id)!);
    },
    rewrap: (id: string, key: StoredCustomerKey) => {
      calls.rewrap++;
      if (rows.get(id)?.keyId !== key.keyId) return Promise.resolve(false);
      rows.set(id, key);
      return Promise.resolve(true);
    },
    erasedAt: (id: string) => Promise.resolve(erased.get(id)),
  } as unknown as CustomerKeyRepository;
  const erase = (id: string) => {
    rows.delete(id);
    erased.set(id, new Date(0));
  };
  return { repository, rows, calls, erase };
}

void describe('CustomerKeyring', () => {
  void it('creates a key on first use, then serves it from memory; another replica finds the same key', async () => {
    const { repository, calls } = memoryRepository();
    const keyring = new CustomerKeyring(repository, [k1], { maxEntries: 10 });
    const sealed = await keyring.seal('c-1', { region: 'Bundang' });
    assert.deepEqual(calls, { get: 1, create: 1, rewrap: 0 });
    await keyring.seal('c-1', { region: 'Seoul' });
    assert.deepEqual(calls, { get: 1, create: 1, rewrap: 0 }, 'a repeat customer: no read');
    const other = new CustomerKeyring(repository, [k1], { maxEntries: 10 });
    assert.deepEqual(await other.open(sealed), { kind: 'opened', value: { region: 'Bundang' } });
  });

  void it('says `erased` once the key is gone with the customer, `missing` when there is no tombstone', async () => {
    const { repository, erase } = memoryRepository();
    const keyring = new CustomerKeyring(repository, [k1], { maxEntries: 10 });
    const sealed = await keyring.seal('c-1', { age: 34 });
    erase('c-1');
    assert.equal((await keyring.open(sealed)).kind, 'opened', 'still in memory until evicted');
    keyring.evict(['c-1']);
    assert.equal((await keyring.open(sealed)).kind, 'erased');
    assert.equal((await keyring.open({ ...sealed, customerId: 'c-2' })).kind, 'missing');
  });

  void it('keeps at most maxEntries keys, least recently used out first', async () => {
    const { repository, calls } = memoryRepository();
    const keyring = new CustomerKeyring(repository, [k1], { maxEntries: 2 });
    for (const id of ['a', 'b', 'c']) await keyring.obtain(id);
    assert.equal(keyring.size, 2);
    assert.equal(keyring.cached('a'), undefined);
    assert.ok(keyring.cached('b') && keyring.cached('c'));
    const reads = calls.get;
    await keyring.find('a');
    assert.equal(calls.get, reads + 1, 'an evicted key is read again');
  });

  void it('after a rotation opens keys wrapped under the previous identity key, and (context) wraps them anew', async () => {
    const { repository, rows, calls } = memoryRepository();
    const before = new CustomerKeyring(repository, [k1], { maxEntries: 10 });
    const sealed = await before.seal('c-1', { tier: 'A' });
    const decision = new CustomerKeyring(repository, [k2, k1], { maxEntries: 10 });
    assert.deepEqual(await decision.open(sealed), { kind: 'opened', value: { tier: 'A' } });
    assert.equal(calls.rewrap, 0, 'decision only reads');
    const context = new CustomerKeyring(repository, [k2, k1], { maxEntries: 10, rewrap: true });
    await context.find('c-1');
    assert.equal(rows.get('c-1')?.kekId, 'k2');
    const withoutK1 = new CustomerKeyring(repository, [k2], { maxEntries: 10 });
    assert.deepEqual(await withoutK1.open(sealed), { kind: 'opened', value: { tier: 'A' } });
  });

  void it("opens a decision's sealed inputs and loss details, or says why it cannot", async () => {
    const { repository, erase } = memoryRepository();
    const keyring = new CustomerKeyring(repository, [k1], { maxEntries: 0 });
    const losses: CandidateLoss[] = [
      { campaignId: 'a', campaignVersion: 1, reason: 'audience', detail: 'audience false: customer.age=34' },
      { campaignId: 'b', campaignVersion: 2, reason: 'holdout' },
      { campaignId: 'c', campaignVersion: 1, reason: 'cap', detail: 'cap 1 per 7 days reached' },
    ];
    const split = splitLossDetails(losses);
    assert.deepEqual(split.details, ['audience false: customer.age=34', null, 'cap 1 per 7 days reached']);
    assert.ok(
      split.losses.every((l) => !('detail' in l)),
      'no detail left in clear',
    );
    assert.equal(splitLossDetails([losses[1]]).details, undefined, 'nothing to seal');
    const record = {
      decisionId: 'd-1',
      customerId: 'c-1',
      sealedInputs: await keyring.seal('c-1', { 'customer.age': 34 }),
      losses: split.losses,
      sealedLossDetails: await keyring.seal('c-1', split.details),
    } as unknown as DecisionRecord;
    const opened = await keyring.openInputs(record);
    assert.deepEqual(opened.inputs, { 'customer.age': 34 });
    assert.deepEqual(opened.losses, losses, 'the details back in place');
    assert.equal(opened.sealedLossDetails, undefined);
    const keyless = decisionInputsOpener(repository, []);
    const sealedOnly = await keyless(record);
    assert.equal(sealedOnly.inputsUnavailable, 'sealed');
    assert.equal(sealedOnly.sealedInputs, undefined);
    assert.equal(sealedOnly.sealedLossDetails, undefined);
    assert.deepEqual(sealedOnly.losses, split.losses);
    erase('c-1');
    const erased = await keyring.openInputs(record);
    assert.equal(erased.inputsUnavailable, 'erased');
    assert.equal(erased.inputs, undefined);
    assert.deepEqual(erased.losses, split.losses, 'the reasons stay, the details are gone');
  });
});
