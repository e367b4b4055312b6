import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { identityKeys, requireIdentityKey } from '@nunchi/config';
import { jetstreamManager } from '@nats-io/jetstream';
import { CustomerRepository, ErasureRepository, storedIdentityValue } from '@nunchi/cassandra';
import { Headers, Subjects, type IngestReply } from '@nunchi/contracts/core';
import { importCustomers, type ImportOptions } from '../apps/cli/src/commands/customers.js';
import { eraseCustomer } from '../apps/cli/src/commands/erase.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { post } from './support/streams.js';

/**
 * Identity changes made outside the event flow (erasure, import, identifier moves) are seen by every
 * ingestion replica at once, and ingestion never answers `ok` for an event the context service would refuse
 * (issue 18). Two replicas in create mode, a third with NUNCHI_UNKNOWN_IDENTIFIERS=refuse.
 */
describe('ingestion: customers changed outside the event flow', () => {
  const TTL_MS = 1_500;
  let h: Harness;
  let second: RunningServices;
  let refusing: RunningServices;
  const run = runId();
  const at = new Date(Date.now() - 60_000).toISOString();
  let seq = 0;
  const visit = (customer: Record<string, string>) => ({
    id: `t${run}-cc-${++seq}`,
    type: 'visit',
    channel: 'pos',
    occurredAt: at,
    customer,
    payload: {},
  });
  const replicas = () => [h.services.urls.ingestion, second.urls.ingestion];
  const send = async (url: string, customer: Record<string, string>) =>
    (await post(`${url}/v1/events`, JSON.stringify(visit(customer)))) as {
      status: number;
      body: IngestReply;
    };
  const customerOf = (r: { body: IngestReply }) =>
    r.body.ok ? r.body.customerId : `not ok: ${JSON.stringify(r.body)}`;
  const importLines = async (lines: object[], options: ImportOptions = {}) => {
    const file = join(mkdtempSync(join(tmpdir(), 'nunchi-')), 'c.ndjson');
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    return importCustomers(h.resources, file, { quiet: true, ...options });
  };
  const lastDlq = async (stage: 'ingestion' | 'context') => {
    const jsm = await jetstreamManager(h.nc);
    return jsm.streams.getMessage('DLQ', { last_by_subj: Subjects.dlq(stage) }).catch(() => null);
  };

  before(async () => {
    h = await startHarness({ NUNCHI_IDENTITY_CACHE_TTL_MS: String(TTL_MS) });
    const port = Number(new URL(h.services.urls.ingestion).port);
    const env = { NUNCHI_IDENTITY_CACHE_TTL_MS: String(TTL_MS) };
    second = await startServices({
      services: ['ingestion'],
      env: { ...env, NUNCHI_INGESTION_PORT: String(port + 50) },
    });
    refusing = await startServices({
      services: ['ingestion'],
      env: { ...env, NUNCHI_INGESTION_PORT: String(port + 60), NUNCHI_UNKNOWN_IDENTIFIERS: 'refuse' },
    });
  });
  after(async () => {
    await refusing?.stop();
    await second?.stop();
    await h?.close();
  });

  it('after an erasure, no replica resolves the card to the erased id; a new owner imported with it gets its events', async () => {
    const kim = `t${run}-kim`;
    const card = `LC-${run}-KIM`;
    assert.equal((await importLines([{ id: kim, age: 31, attributes: {}, loyaltyCard: card }])).imported, 1);
    for (const url of replicas()) {
      assert.equal(customerOf(await send(url, { loyaltyCard: card })), kim, 'warm: the card is cached');
      assert.equal(customerOf(await send(url, { id: kim })), kim);
    }
    const receipt = await eraseCustomer(h.resources, kim);
    assert.equal(receipt.removed['identities'], 1);

    // By id: refused at the door on every replica, with a clear code, and kept in the DLQ with the reason.
    for (const url of replicas()) {
      const r = await send(url, { id: kim });
      assert.equal(r.status, 422);
      assert.equal(!r.body.ok && r.body.error.code, 'CUSTOMER_ERASED', JSON.stringify(r.body));
    }
    const dead = await lastDlq('ingestion');
    assert.match(dead?.header.get(Headers.dlqReason) ?? '', new RegExp(`CUSTOMER_ERASED.*${kim}`));

    // The sequence: a new customer imported with the card owns it at once, on every replica.
    const lee = `t${run}-lee`;
    const imported = await importLines([{ id: lee, age: 29, attributes: {}, loyaltyCard: card }]);
    assert.deepEqual([imported.imported, imported.rejected.length], [1, 0]);
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), lee);
    // Re-importing the erased id is refused: its events would be refused downstream.
    const again = await importLines([{ id: kim, age: 31, attributes: {} }]);
    assert.equal(again.imported, 0);
    assert.match(again.rejected[0]?.problems ?? '', /erased/);
  });

  it('a card seen after its owner was erased is a new customer, never the erased one', async () => {
    const park = `t${run}-park`;
    const card = `LC-${run}-PARK`;
    await importLines([{ id: park, age: 40, attributes: {}, loyaltyCard: card }]);
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), park);
    await eraseCustomer(h.resources, park);
    const answers = await Promise.all(replicas().map((url) => send(url, { loyaltyCard: card })));
    const ids = new Set(answers.map(customerOf));
    assert.equal(ids.size, 1, [...ids].join(', '));
    assert.match([...ids][0], /^c-[0-9a-f]{24}$/);
  });

  it('a lost hint: once erase() has returned, every replica refuses the customer anyway (TTL)', async () => {
    const choi = `t${run}-choi`;
    const card = `LC-${run}-CHOI`;
    await importLines([{ id: choi, age: 50, attributes: {}, loyaltyCard: card }]);
    for (const url of replicas()) {
      assert.equal(customerOf(await send(url, { loyaltyCard: card })), choi);
      assert.equal(customerOf(await send(url, { id: choi })), choi);
    }
    // No hint sent at all, as if it were lost.
    await new ErasureRepository(await h.resources.cassandra()).erase(choi, {
      timeZone: h.config.domain.timeZone,
      partitions: h.config.nats.partitions,
      settleMs: TTL_MS,
      keks: identityKeys(h.config),
    });
    for (const url of replicas()) {
      const byId = await send(url, { id: choi });
      assert.equal(!byId.body.ok && byId.body.error.code, 'CUSTOMER_ERASED', JSON.stringify(byId.body));
      assert.notEqual(customerOf(await send(url, { loyaltyCard: card })), choi);
    }
  });

  it('a cached owner outlives the TTL, and a move whose hint was lost still reaches every replica from the change log', async () => {
    const kang = `t${run}-kang`;
    const lim = `t${run}-lim`;
    const card = `LC-${run}-KANG`;
    await importLines([{ id: kang, age: 30, attributes: {}, loyaltyCard: card }]);
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), kang);
    // Past the TTL, with no change, the owner is still the cached one; and it is right.
    await new Promise((r) => setTimeout(r, 2 * TTL_MS));
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), kang);

    // The card moves to lim as an import with --move-identifiers writes it, but no hint is sent (lost).
    const repo = new CustomerRepository(h.cql);
    const value = storedIdentityValue('loyaltyCard', card, requireIdentityKey(h.config).secret);
    await repo.linkIdentity(lim, 'loyaltyCard', value, new Date());
    await repo.logIdentifierChanges([kang], new Date());
    await new Promise((r) => setTimeout(r, TTL_MS)); // what the import waits before it returns
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), lim);
  });

  it('import: an identifier owned by another customer is a reported conflict, or moves with moveIdentifiers', async () => {
    const han = `t${run}-han`;
    const yoon = `t${run}-yoon`;
    const card = `LC-${run}-HAN`;
    const phone = `+82 10-${run.slice(0, 4).replace(/\D/g, '7')}-0001`;
    await importLines([{ id: han, age: 45, attributes: {}, loyaltyCard: card, phone }]);
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), han);

    const refused = await importLines([
      { id: `t${run}-ok`, age: 20, attributes: {} },
      { id: yoon, age: 33, attributes: {}, loyaltyCard: card, phone },
    ]);
    assert.equal(refused.imported, 1);
    assert.equal(refused.rejected.length, 1);
    assert.deepEqual(
      refused.conflicts.map((c) => [c.line, c.type, c.owner]),
      [
        [2, 'loyaltyCard', han],
        [2, 'phone', han],
      ],
    );
    assert.match(refused.rejected[0].problems, new RegExp(`loyaltyCard already belongs to customer ${han}`));
    assert.ok(
      !refused.rejected[0].problems.includes(phone.replace(/\D/g, '').slice(2)),
      'no phone in the report',
    );
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), han);

    const moved = await importLines([{ id: yoon, age: 33, attributes: {}, loyaltyCard: card }], {
      moveIdentifiers: true,
    });
    assert.deepEqual([moved.imported, moved.rejected.length], [1, 0]);
    assert.deepEqual(
      moved.moved.map((m) => [m.line, m.type, m.owner]),
      [[1, 'loyaltyCard', han]],
    );
    for (const url of replicas()) assert.equal(customerOf(await send(url, { loyaltyCard: card })), yoon);
    const index = await h.cql.execute(
      "SELECT id_value FROM customer_identities WHERE customer_id = ? AND id_type = 'loyaltyCard'",
      [han],
      { prepare: true },
    );
    assert.equal(index.rowLength, 0, 'the previous owner no longer lists the card');

    // Two lines of one file giving the same card to two customers: the second is a conflict.
    const twice = await importLines([
      { id: `t${run}-a`, age: 20, attributes: {}, loyaltyCard: `LC-${run}-TWICE` },
      { id: `t${run}-b`, age: 21, attributes: {}, loyaltyCard: `LC-${run}-TWICE` },
    ]);
    assert.deepEqual(
      twice.conflicts.map((c) => [c.line, c.owner]),
      [[2, `t${run}-a`]],
    );
  });

  it('unknown identifiers: created and counted by default; refused with UNKNOWN_CUSTOMER when configured', async () => {
    const metric = async () => {
      const text = await (await fetch(`${h.services.urls.ingestion}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('nunchi_ingestion_customers_created_total{') && l.includes('id_type="loyaltyCard"'),
        );
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await metric();
    const created = await send(h.services.urls.ingestion, { loyaltyCard: `NO-SUCH-CARD-${run}` });
    assert.match(customerOf(created), /^c-/);
    await waitFor('the counter to move', async () => ((await metric()) >= before + 1 ? true : undefined));

    const phone = `+82 10-${String(Date.now()).slice(-4)}-${String(Date.now()).slice(-8, -4)}`;
    const r = await send(refusing.urls.ingestion, { phone });
    assert.equal(r.status, 422);
    assert.ok(!r.body.ok);
    assert.equal(r.body.error.code, 'UNKNOWN_CUSTOMER');
    assert.equal(r.body.error.details[0].path, 'customer.phone');
    assert.ok(!JSON.stringify(r.body).includes(phone.replace(/\D/g, '').slice(-8)), 'the phone is not named');
    const dead = await lastDlq('ingestion');
    assert.match(dead?.header.get(Headers.dlqReason) ?? '', /UNKNOWN_CUSTOMER/);
    // A known identifier is accepted by the refusing replica.
    assert.equal(
      customerOf(await send(refusing.urls.ingestion, { loyaltyCard: `NO-SUCH-CARD-${run}` })),
      customerOf(created),
    );
  });
});
