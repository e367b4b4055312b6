/**
 * Privacy by construction (issue 12, docs/security.md "Identity keys", "What spans and logs carry",
 * docs/context-model.md#erasure): no identifier is stored or traced as sent, customer ids cannot be computed
 * from identifiers, a rotation keeps every customer's id, and no forward-dated write outlives an erasure.
 */
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storedIdentityValue, type CqlClient } from '@nunchi/cassandra';
import { requireIdentityKey } from '@nunchi/config';
import type { IdentityType } from '@nunchi/contracts/core';
import type { IngestReply } from '@nunchi/contracts/core';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { contextDrained, contextOf } from './support/context-tools.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { post } from './support/streams.js';

/** Every table of the keyspace, read whole, as text: where a raw value would show if it were stored. */
async function keyspaceText(cql: CqlClient, keyspace: string): Promise<Map<string, string>> {
  const tables = (
    await cql.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], {
      prepare: true,
    })
  ).rows.map((r) => r['table_name'] as string);
  const out = new Map<string, string>();
  for (const table of tables) {
    const parts: string[] = [];
    let pageState: string | undefined;
    do {
      const page = await cql.execute(`SELECT * FROM ${keyspace}.${table}`, [], {
        fetchSize: 5_000,
        pageState,
      });
      for (const row of page.rows)
        for (const value of row.values())
          parts.push(Buffer.isBuffer(value) ? value.toString('latin1') : (JSON.stringify(value) ?? ''));
      pageState = page.pageState ?? undefined;
    } while (pageState);
    out.set(table, parts.join('\n'));
  }
  return out;
}

describe('privacy by construction: identifiers', () => {
  let h: Harness;
  const run = runId();
  /** the rotation's new identity key (docs/security.md, "Rotating the identity key") */
  const k2 = { NUNCHI_IDENTITY_SECRET: `rotated-${run}-secret-key`, NUNCHI_IDENTITY_KEY_ID: 'k2' };
  const started: RunningServices[] = [];
  let seq = 0;
  const event = (customer: Record<string, string>, over: Record<string, unknown> = {}) => ({
    id: `p${run}-${++seq}`,
    type: 'visit',
    channel: 'pos',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    customer,
    storeId: 'bundang-01',
    payload: {},
    ...over,
  });
  const send = async (url: string, body: object) =>
    (await post(`${url}/v1/events`, JSON.stringify(body))) as { status: number; body: IngestReply };
  const customerOf = async (
    url: string,
    customer: Record<string, string>,
    over: Record<string, unknown> = {},
  ) => {
    const r = await send(url, event(customer, over));
    assert.ok(r.body.ok, JSON.stringify(r.body));
    return r.body.customerId;
  };
  const ingestionUrl = () => h.services.urls.ingestion;
  const contextUrl = () => h.services.urls.context;
  const stored = (type: IdentityType, value: string, secret = requireIdentityKey(h.config).secret) =>
    storedIdentityValue(type, value, secret);
  const ownerRow = async (type: IdentityType, storedValue: string) =>
    (
      await h.cql.execute(
        'SELECT customer_id, key_id FROM identities WHERE id_type = ? AND id_value = ?',
        [type, storedValue],
        { prepare: true },
      )
    ).first();
  /** an ingestion of its own beside the harness's, with other keys */
  const ingestion = async (offset: number, env: Record<string, string>) => {
    const port = Number(new URL(ingestionUrl()).port) + offset;
    const s = await startServices({
      services: ['ingestion'],
      env: { NUNCHI_INGESTION_PORT: String(port), ...env },
      log: (name, line) => void h.logs.push(`${name}+${offset} ${line}`),
    });
    started.push(s);
    return s.urls.ingestion;
  };

  before(async () => {
    // Spans are printed to the services' output (read into h.logs), with every Cassandra statement's span too.
    // The rotation's first step: every service may open what is wrapped under the new key (context, decision and
    // analytics open the data keys the rotated ingestion below wraps under it), none wraps under it yet.
    h = await startHarness({
      OTEL_TRACES_EXPORTER: 'console',
      NUNCHI_TRACE_DETAIL: 'statements',
      NUNCHI_IDENTITY_PREVIOUS_KEYS: `k2:${k2.NUNCHI_IDENTITY_SECRET}`,
    });
  });
  after(async () => {
    for (const s of started) await s.stop();
    await h?.close();
  });

  it('a loyalty card, device id, phone or e-mail is in no table, span or log line after events, a merge and an import', async () => {
    const raw = {
      card: `LCP${run}77`,
      device: `devP${run}x9`,
      phone: `+82 10-${randomInt(1000, 9999)}-${randomInt(1000, 9999)}`,
      email: `Priv.${run}@Example.kr`,
      importedCard: `LCI${run}31`,
      importedDevice: `devI${run}q4`,
      importedPhone: `010-${randomInt(1000, 9999)}-${randomInt(1000, 9999)}`,
      importedEmail: `imp.${run}@example.kr`,
    };
    const phoneDigits = raw.phone.replace(/\D/g, '');
    // Events: by card, by device, a login linking the two (a merge), a profile change, by phone and by e-mail.
    const byCard = await customerOf(
      ingestionUrl(),
      { loyaltyCard: raw.card },
      {
        type: 'purchase',
        payload: {
          amount: 12000,
          currency: 'KRW',
          items: [{ sku: 'a1', category: 'beer', quantity: 2, unitPrice: 6000 }],
        },
      },
    );
    const byDevice = await customerOf(
      ingestionUrl(),
      { deviceId: raw.device },
      { type: 'app_open', channel: 'app', payload: {} },
    );
    assert.notEqual(byCard, byDevice);
    const linked = await customerOf(
      ingestionUrl(),
      { deviceId: raw.device, loyaltyCard: raw.card },
      { type: 'app_open', channel: 'app', payload: {} },
    );
    await customerOf(
      ingestionUrl(),
      { loyaltyCard: raw.card },
      { type: 'profile_update', payload: { region: 'Bundang' } },
    );
    const byPhone = await customerOf(ingestionUrl(), { phone: raw.phone });
    const byEmail = await customerOf(ingestionUrl(), { email: raw.email });
    // Refused input holding the card (a bad payload): kept in the DLQ sealed, and traced as a rejection.
    const refused = await send(
      ingestionUrl(),
      event({ loyaltyCard: raw.card }, { type: 'purchase', payload: { amount: -1 } }),
    );
    assert.equal(refused.body.ok, false);

    // An import with every identifier type.
    const imported = `c-imp-${run}`;
    const file = join(mkdtempSync(join(tmpdir(), 'nunchi-')), 'c.ndjson');
    writeFileSync(
      file,
      JSON.stringify({
        id: imported,
        age: 41,
        attributes: {},
        loyaltyCard: raw.importedCard,
        deviceId: raw.importedDevice,
        phone: raw.importedPhone,
        email: raw.importedEmail,
      }),
    );
    const report = await importCustomers(h.resources, file, { quiet: true });
    assert.deepEqual([report.imported, report.rejected], [1, []]);
    assert.equal(await customerOf(ingestionUrl(), { loyaltyCard: raw.importedCard }), imported);
    assert.equal(await customerOf(ingestionUrl(), { deviceId: raw.importedDevice }), imported);

    // Every customer's events folded, the merge done.
    await contextDrained(h.nc, h.config.nats.partitions, 60_000);
    await waitFor(
      'the merge',
      async () => {
        const row = await ownerRow('deviceId', stored('deviceId', raw.device));
        return row?.['customer_id'] === linked ? true : undefined;
      },
      60_000,
    );

    // What is stored: only keyed hashes, naming the key, resolving to the customers the answers named.
    for (const [type, value, owner] of [
      ['loyaltyCard', raw.card, linked],
      ['deviceId', raw.device, linked],
      ['phone', raw.phone, byPhone],
      ['email', raw.email, byEmail],
      ['loyaltyCard', raw.importedCard, imported],
      ['deviceId', raw.importedDevice, imported],
    ] as const) {
      const row = await ownerRow(type, stored(type, value));
      assert.equal(row?.['customer_id'], owner, `${type} resolves through its hash`);
      assert.equal(row?.['key_id'], requireIdentityKey(h.config).id, `${type} names its key`);
    }

    // The raw values: in no table of the keyspace (profiles, identities, their index, events, merges, …).
    const needles = [
      raw.importedPhone,
      raw.importedPhone.replace(/\D/g, ''),
      raw.importedEmail,
      raw.card,
      raw.device,
      raw.phone,
      phoneDigits,
      raw.email,
      raw.email.toLowerCase(),
      raw.importedCard,
      raw.importedDevice,
    ];
    const tables = await keyspaceText(h.cql, h.config.cassandra.keyspace);
    assert.ok(tables.has('identities') && tables.has('customer_events') && tables.has('customer_merges'));
    assert.ok(tables.get('customer_events')!.includes(`p${run}-1`), 'the scan sees the events');
    for (const [table, text] of tables)
      for (const needle of needles)
        assert.ok(!text.includes(needle), `${needle} is stored in clear in ${table}`);

    // Nor in a span or a log line of any service.
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // spans are exported every 500 ms
    const logs = h.logs.join('\n');
    assert.match(logs, /ingestion\.receive/, 'the spans are in the output');
    assert.match(logs, /cassandra identities\.find/, 'statement spans too');
    for (const needle of needles)
      assert.ok(!logs.includes(needle), `${needle} appears in a span or log line`);
  });

  it('a card keeps its customer across a key rotation, and a customer id cannot be computed from the card', async () => {
    const old = requireIdentityKey(h.config);
    const card = `LCR${run}05`;
    const device = `devR${run}z1`;
    const customer = await customerOf(ingestionUrl(), { loyaltyCard: card });
    const deviceOwner = await customerOf(ingestionUrl(), { deviceId: device });
    assert.equal((await ownerRow('loyaltyCard', stored('loyaltyCard', card)))?.['customer_id'], customer);
    assert.equal(await ownerRow('loyaltyCard', stored('loyaltyCard', card, k2.NUNCHI_IDENTITY_SECRET)), null);

    // During the rotation: the new key first, the old one found and the identity stored again under the new.
    const rotating = await ingestion(71, { ...k2, NUNCHI_IDENTITY_PREVIOUS_KEYS: `${old.id}:${old.secret}` });
    assert.equal(
      await customerOf(rotating, { loyaltyCard: card }),
      customer,
      'the same customer, the same id',
    );
    assert.equal(await customerOf(rotating, { deviceId: device }), deviceOwner);
    const rekeyed = await ownerRow('loyaltyCard', stored('loyaltyCard', card, k2.NUNCHI_IDENTITY_SECRET));
    assert.deepEqual([rekeyed?.['customer_id'], rekeyed?.['key_id']], [customer, 'k2']);

    // Once the old key is gone: still the same customer.
    const rotated = await ingestion(72, k2);
    assert.equal(await customerOf(rotated, { loyaltyCard: card }), customer);
    assert.equal(await customerOf(rotated, { deviceId: device }), deviceOwner);

    // The id is no function of the card: not the unkeyed hash earlier versions used, and a card first seen under
    // another key (a deployment of its own, or a rotation without the old key) gets an unrelated id.
    const fresh = `LCF${run}88`;
    const underOld = await customerOf(ingestionUrl(), { loyaltyCard: fresh });
    const underK2 = await customerOf(rotated, { loyaltyCard: fresh });
    assert.notEqual(underOld, underK2);
    const unkeyed = (key: string) => `c-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
    for (const id of [underOld, underK2]) {
      assert.match(id, /^c-[0-9a-f]{24}$/);
      for (const guess of [`loyaltyCard\u0000${fresh}`, fresh, `loyaltyCard:${fresh}`])
        assert.notEqual(id, unkeyed(guess));
    }
    const [a, b] = [stored('loyaltyCard', fresh), stored('loyaltyCard', fresh, k2.NUNCHI_IDENTITY_SECRET)];
    assert.notEqual(a, b, 'stored differently under the two keys');
    assert.equal((await ownerRow('loyaltyCard', a))?.['customer_id'], underOld);
    assert.equal((await ownerRow('loyaltyCard', b))?.['customer_id'], underK2);
  });

  it('a profile_update dated minutes ahead does not outlive an erasure; the card that comes back is a new, empty customer', async () => {
    const card = `LCE${run}40`;
    const erased = await customerOf(ingestionUrl(), { loyaltyCard: card });
    // Validation lets an event be dated up to five minutes ahead; the erasure's deletions reach one minute.
    await customerOf(
      ingestionUrl(),
      { loyaltyCard: card },
      {
        type: 'profile_update',
        occurredAt: new Date(Date.now() + 4 * 60_000).toISOString(),
        payload: { region: 'Jeju', marketingConsent: true, attributes: { household: 'family' } },
      },
    );
    await waitFor('the profile_update applied', async () =>
      (await contextOf(contextUrl(), erased)).profile?.region === 'Jeju' ? true : undefined,
    );
    const response = await fetch(`${contextUrl()}/v1/customers/${erased}`, { method: 'DELETE' });
    assert.equal(response.status, 200, await response.text());

    const profileRow = await h.cql.execute('SELECT * FROM customers WHERE customer_id = ?', [erased], {
      prepare: true,
    });
    assert.equal(
      profileRow.rowLength,
      0,
      `the forward-dated cells are gone: ${JSON.stringify(profileRow.first())}`,
    );
    const view = await contextOf(contextUrl(), erased);
    assert.deepEqual([view.erased, view.profile], [true, null]);

    // The policy for a customer who comes back (docs/context-model.md#erasure): the erased id stays refused...
    const byId = await send(ingestionUrl(), event({ id: erased }));
    assert.equal(!byId.body.ok && byId.body.error.code, 'CUSTOMER_ERASED', JSON.stringify(byId.body));
    // ...and the card is an unknown identifier again: a new customer with a new id and nothing of the old one.
    const back = await customerOf(ingestionUrl(), { loyaltyCard: card });
    assert.notEqual(back, erased);
    assert.match(back, /^c-[0-9a-f]{24}$/);
    const fresh = await waitFor('the new customer folded', async () => {
      const v = await contextOf(contextUrl(), back);
      return v.ctx.all.d30.events === 1 ? v : undefined;
    });
    assert.equal(fresh.erased, false);
    assert.equal(fresh.profile?.region, undefined, 'no profile field of the erased customer');
    assert.equal(fresh.profile?.marketingConsent, undefined, 'no consent carried over');
    assert.deepEqual(fresh.profile?.attributes ?? {}, {});
    assert.equal((await ownerRow('loyaltyCard', stored('loyaltyCard', card)))?.['customer_id'], back);
  });
});
