import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { requireIdentityKey } from '@nunchi/config';
import { storedIdentityValue } from '@nunchi/cassandra';
import { Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import { startServices, type RunningServices } from '../tools/services.js';
import { request, runId, startHarness, type Harness } from './support/harness.js';
import { lastSeq, post, readStream } from './support/streams.js';

/**
 * Identity resolution across two ingestion replicas: a new phone or e-mail seen by both at once becomes
 * one customer (the claim is a lightweight transaction), and only its HMAC is ever stored or logged.
 */
describe('ingestion: identity resolution', () => {
  let h: Harness;
  let second: RunningServices;
  const secondLogs: string[] = [];
  const run = runId();
  const at = new Date(Date.now() - 60_000).toISOString();
  const digits = () => String(randomInt(10_000_000, 99_999_999));
  const phones = Array.from({ length: 8 }, () => `+82 10-${digits().slice(0, 4)}-${digits().slice(0, 4)}`);
  const emails = Array.from({ length: 4 }, (_, k) => `Dad.${run}.${k}@Example.com`);
  const visit = (id: string, customer: Record<string, string>) => ({
    id: `t${run}-${id}`,
    type: 'visit',
    channel: 'pos',
    occurredAt: at,
    customer,
    payload: {},
  });

  before(async () => {
    h = await startHarness();
    const port = Number(new URL(h.services.urls.ingestion).port) + 50;
    second = await startServices({
      services: ['ingestion'],
      env: { NUNCHI_INGESTION_PORT: String(port) },
      log: (s, line) => void secondLogs.push(`${s}-2 ${line}`),
    });
  });
  after(async () => {
    await second?.stop();
    await h?.close();
  });

  it('turns a new phone or e-mail sent to two replicas at the same moment into one customer', async () => {
    const a = `${h.services.urls.ingestion}/v1/events`;
    const b = `${second.urls.ingestion}/v1/events`;
    const identifiers = [...phones.map((phone) => ({ phone })), ...emails.map((email) => ({ email }))];
    const pairs = await Promise.all(
      identifiers.map(async (customer, k) => {
        const [x, y, z] = await Promise.all([
          post(a, JSON.stringify(visit(`id-${k}-a`, customer))),
          post(b, JSON.stringify(visit(`id-${k}-b`, customer))),
          request(h.nc, Subjects.inbound('pos', 'visit'), visit(`id-${k}-c`, customer)),
        ]);
        return [x.body, y.body, z] as IngestReply[];
      }),
    );
    const customers = new Set<string>();
    for (const [k, replies] of pairs.entries()) {
      for (const r of replies) assert.ok(r.ok, JSON.stringify(r));
      const ids = new Set(replies.map((r) => (r.ok ? r.customerId : '')));
      assert.equal(ids.size, 1, `identifier ${k} became ${[...ids].join(', ')}`);
      customers.add([...ids][0]);
    }
    assert.equal(customers.size, identifiers.length, 'different identifiers are different customers');
    // The same phone written differently is the same identity.
    const again = await request(
      h.nc,
      Subjects.inbound('pos', 'visit'),
      visit('id-0-d', { phone: phones[0].replace(/[ -]/g, '') }),
    );
    assert.deepEqual(again.ok && again.customerId, pairs[0][0].ok && pairs[0][0].customerId);
  });

  it('stores phone and e-mail only as HMAC: no clear text in identities, customer_identities or EVENTS', async () => {
    const secret = requireIdentityKey(h.config).secret;
    for (const phone of phones) {
      const found = await h.cql.execute(
        'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
        ['phone', storedIdentityValue('phone', phone, secret)],
        { prepare: true },
      );
      assert.equal(found.rowLength, 1, `${phone} is stored under its HMAC`);
      for (const clear of [phone, phone.replace(/\D/g, '')]) {
        const leaked = await h.cql.execute(
          'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
          ['phone', clear],
          { prepare: true },
        );
        assert.equal(leaked.rowLength, 0, 'no row under the clear value');
      }
    }
    const clearTexts = [
      ...phones.flatMap((p) => [p, p.replace(/\D/g, ''), p.replace(/\D/g, '').slice(2)]),
      ...emails.flatMap((e) => [e, e.toLowerCase()]),
    ];
    const rows = (
      await h.cql.execute(
        "SELECT id_type, id_value, customer_id FROM identities WHERE id_type IN ('phone', 'email') ALLOW FILTERING",
      )
    ).rows;
    const reverse = (await h.cql.execute('SELECT id_type, id_value FROM customer_identities')).rows.filter(
      (r) => ['phone', 'email'].includes(r['id_type'] as string),
    );
    for (const row of [...rows, ...reverse]) {
      assert.match(row['id_value'] as string, /^[0-9a-f]{64}$/, 'an HMAC-SHA256, hex');
      for (const clear of clearTexts) assert.ok(!(row['id_value'] as string).includes(clear));
    }
    const events = (
      await readStream(
        h.nc,
        Streams.EVENTS.name,
        Subjects.eventsAll,
        Math.max(1, (await lastSeq(h.nc, Streams.EVENTS.name)) - 200),
      )
    ).map((m) => Buffer.from(m.data).toString());
    assert.ok(
      events.some((e) => e.includes(`t${run}-id-0-a`)),
      'the events are there',
    );
    for (const e of events)
      for (const clear of clearTexts) assert.ok(!e.includes(clear), `EVENTS holds ${clear}`);
  });

  it('never writes a phone number or e-mail address to the logs of any service', async () => {
    // Exercise the paths that log: a rejected event carrying a phone, and a replica's start and stop.
    await request(h.nc, Subjects.inbound('pos', 'visit'), {
      ...visit('id-bad', { phone: phones[1] }),
      payload: { entrance: 7 },
    });
    const logs = [...h.logs, ...secondLogs];
    assert.ok(logs.length > 10, 'the services did log');
    const clearTexts = [
      ...phones.flatMap((p) => [p, p.replace(/\D/g, '')]),
      ...emails.flatMap((e) => [e, e.toLowerCase()]),
    ];
    for (const line of logs)
      for (const clear of clearTexts) assert.ok(!line.includes(clear), `logged: ${line}`);
  });
});
