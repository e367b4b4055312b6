// One customer across identifiers (docs/identity.md), against the real services, Cassandra and NATS: an app
// device and a loyalty card used apart are two customers; the app login that carries both merges them into one
// whose context equals the pure model's fold of every event under one id; the login again changes nothing;
// later events by either identifier reach the one customer; erasure of either id erases both; a link that
// would join an erased customer or two cardholders is refused and kept in the DLQ, with nothing merged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DecisionRepository, MergeRepository, storedIdentityValue } from '@nunchi/cassandra';
import { requireIdentityKey } from '@nunchi/config';
import {
  buildSnapshot,
  foldEvent,
  foldIntoClosedDay,
  localDay,
  newContext,
  survivorOf,
} from '@nunchi/context-model';
import { decisionIdOf, Headers, Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import type { AcceptedEvent, ErasureReceipt } from '@nunchi/contracts';
import type { IdentityType } from '@nunchi/contracts/core';
import {
  accepted,
  contextDrained,
  contextOf,
  countRows,
  redeliver,
  sendEvents,
  type ContextView,
} from './support/context-tools.js';
import { request, runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, readStream } from './support/streams.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type RawEvent = Record<string, unknown>;

/** The pure model: every event folded under one id from the start, as the context service would have. */
function modelSnapshot(
  events: readonly AcceptedEvent[],
  customerId: string,
  timeZone: string,
  nowMs: number,
) {
  const options = { timeZone, nowMs };
  const stored: AcceptedEvent[] = [];
  let context = newContext(null, options);
  for (const e of events) {
    let result = foldEvent(context, e, options);
    if (result.kind === 'closed-day') {
      const day = result.day;
      const ofDay = stored.filter((x) => localDay(x.occurredAtMs, timeZone) === day);
      result = foldIntoClosedDay(result.context, e, ofDay, options);
    }
    if (result.kind === 'applied') stored.push(e);
    context = result.context;
  }
  return buildSnapshot({ customerId, rows: context.rows, recent: context.recent, nowMs, timeZone });
}

/** A context as compared: the instant it describes and the current store aside. */
const comparable = (ctx: ContextView['ctx']) => ({ ...ctx, asOf: '', thisStore: null });

describe('identity: one customer across identifiers', () => {
  let h: Harness;
  const run = runId();
  const nowMs = Date.now();
  const at = (agoMs: number) => new Date(nowMs - agoMs).toISOString();
  /** an identifier as `identities` stores it: only hashed under the identity key */
  const stored = (type: string, value: string) =>
    storedIdentityValue(type as IdentityType, value, requireIdentityKey(h.config).secret);
  const event = (
    id: string,
    type: string,
    channel: string,
    agoMs: number,
    customer: RawEvent,
    payload: RawEvent = {},
    storeId?: string,
  ): RawEvent => ({
    id: `m${run}-${id}`,
    type,
    channel,
    occurredAt: at(agoMs),
    customer,
    payload,
    ...(storeId ? { storeId } : {}),
  });
  const purchase = (
    id: string,
    channel: string,
    agoMs: number,
    customer: RawEvent,
    category: string,
    price: number,
    storeId?: string,
  ) =>
    event(
      id,
      'purchase',
      channel,
      agoMs,
      customer,
      {
        amount: price * 2,
        currency: 'KRW',
        items: [{ sku: `sku-${category}`, category, quantity: 2, unitPrice: price }],
      },
      storeId,
    );
  const contextUrl = () => h.services.urls.context;
  const partitions = () => h.config.nats.partitions;

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('merges an app device and a loyalty card on login: history, rollups, ledger and identities become one customer, equal to the pure model', async () => {
    const timeZone = h.config.domain.timeZone;
    const device = { deviceId: `dev-${run}` };
    const card = { loyaltyCard: `LC-${run}` };
    const deviceEvents = [
      event('d1', 'app_open', 'app', 5 * DAY, device),
      event('d2', 'product_view', 'app', 2 * DAY + HOUR, device, {
        sku: 'sku-분유',
        category: '분유',
        price: 32000,
      }),
      purchase('d3', 'app', DAY + 2 * HOUR, device, '분유', 32000),
    ];
    const cardEvents = [
      purchase('c1', 'pos', 9 * DAY, card, '맥주', 4500, 'bundang-01'),
      event('c2', 'visit', 'pos', 2 * DAY, card, {}, 'bundang-01'),
      purchase('c3', 'pos', 3 * HOUR, card, '맥주', 4500, 'bundang-01'),
    ];
    const [deviceReply] = await sendEvents(h.nc, deviceEvents, 1);
    const [cardReply] = await sendEvents(h.nc, cardEvents, 1);
    assert.ok(deviceReply.ok && cardReply.ok);
    const deviceCustomer = deviceReply.customerId;
    const cardCustomer = cardReply.customerId;
    assert.notEqual(deviceCustomer, cardCustomer, 'apart, they are two customers');
    const { survivorId, absorbedId } = survivorOf(deviceCustomer, cardCustomer);

    // Each was offered something today: afterwards the caps count one customer.
    const decisions = new DecisionRepository(h.cql);
    const today = localDay(nowMs, timeZone);
    await decisions.saveContacts(
      deviceCustomer,
      { seq: 1, claims: { [`d-dev${run}/camp-a`]: `${today} app offer` }, lifetime: { 'camp-a': 1 } },
      0,
    );
    await decisions.saveContacts(
      cardCustomer,
      { seq: 1, claims: { [`d-card${run}/camp-a`]: `${today} pos offer` }, lifetime: { 'camp-a': 2 } },
      0,
    );
    await contextDrained(h.nc, partitions());

    const login = event('login', 'app_open', 'app', 60_000, { ...device, ...card }, { platform: 'ios' });
    const reply = await request(h.nc, Subjects.inbound('app', 'app_open'), login);
    assert.deepEqual(reply, { ok: true, id: login['id'], customerId: survivorId });

    const merges = new MergeRepository(h.cql);
    await waitFor(
      'the merge to be done',
      async () => ((await merges.get(absorbedId))?.state === 'done' ? true : undefined),
      30_000,
    );
    await contextDrained(h.nc, partitions());

    const all = [...deviceEvents, ...cardEvents, login].map((e) => accepted(e, survivorId));
    const expected = modelSnapshot(all, survivorId, timeZone, Date.now());
    const view = await contextOf(contextUrl(), survivorId);
    assert.deepEqual(
      comparable(view.ctx),
      comparable(expected),
      'the context of one identifier from the start',
    );
    assert.equal(view.ctx.all.d30.events, 7);
    assert.equal(view.ctx.category['분유'].d30.purchases, 1);

    const owners = await Promise.all(
      [
        ['deviceId', device.deviceId],
        ['loyaltyCard', card.loyaltyCard],
      ].map(
        async ([type, value]) =>
          (
            await h.cql.execute(
              'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
              [type, stored(type, value)],
              { prepare: true },
            )
          ).first()?.['customer_id'] as string | undefined,
      ),
    );
    assert.deepEqual(owners, [survivorId, survivorId], 'both identifiers name the survivor');
    const ledger = await decisions.contacts(survivorId);
    assert.equal(ledger.lifetime['camp-a'], 3, 'lifetime offers of both');
    assert.deepEqual(Object.keys(ledger.claims).sort(), [`d-card${run}/camp-a`, `d-dev${run}/camp-a`].sort());

    // The login again: the door's duplicate; and once past JetStream's window, a redelivery of the merge itself.
    const again = await request(h.nc, Subjects.inbound('app', 'app_open'), login);
    assert.deepEqual(again, { ok: true, id: login['id'], customerId: survivorId, duplicate: true });
    const freeze = {
      ...accepted(login, absorbedId),
      link: { survivorId, absorbedId, stage: 'freeze' as const },
    };
    await redeliver(h.nc, freeze, partitions());
    await redeliver(
      h.nc,
      { ...freeze, customerId: survivorId, link: { ...freeze.link, stage: 'absorb' as const } },
      partitions(),
    );
    await contextDrained(h.nc, partitions());
    const afterRepeat = await contextOf(contextUrl(), survivorId);
    assert.deepEqual(comparable(afterRepeat.ctx), comparable(view.ctx), 'the repeated login changed nothing');
    assert.equal(
      (await decisions.contacts(survivorId)).lifetime['camp-a'],
      3,
      'the ledger was not merged twice',
    );

    // Later events by either identifier, or by the absorbed id itself, reach the one customer.
    const later = [
      event('l1', 'app_open', 'app', 30_000, device),
      event('l2', 'visit', 'pos', 20_000, card, {}, 'bundang-01'),
      event('l3', 'app_open', 'app', 10_000, { id: absorbedId }),
    ];
    await sendEvents(h.nc, later, 1);
    await contextDrained(h.nc, partitions());
    await waitFor('later events in the survivor’s context', async () => {
      const ids = (await contextOf(contextUrl(), survivorId)).ctx.recent.map((r) => r.id);
      return later.every((e) => ids.includes(e['id'] as string)) ? true : undefined;
    });

    // Erasure by the absorbed id reaches everything that was merged.
    const erased = await fetch(`${contextUrl()}/v1/customers/${absorbedId}`, { method: 'DELETE' });
    assert.equal(erased.status, 200);
    const receipt = (await erased.json()) as ErasureReceipt;
    assert.equal(receipt.customerId, survivorId);
    assert.deepEqual(
      receipt.merged?.map((r) => r.customerId),
      [absorbedId],
    );
    assert.ok((receipt.removed['customer_events'] ?? 0) >= 7);
    for (const id of [survivorId, absorbedId]) {
      for (const table of ['customers', 'customer_days', 'customer_event_months', 'customer_identities'])
        assert.equal(await countRows(h.cql, table, id), 0, `${table} of ${id}`);
    }
    for (const [type, value] of [
      ['deviceId', device.deviceId],
      ['loyaltyCard', card.loyaltyCard],
    ]) {
      const row = (
        await h.cql.execute(
          'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
          [type, stored(type, value)],
          { prepare: true },
        )
      ).first();
      assert.equal(row, null, `${type} erased`);
    }
    assert.equal(await merges.get(absorbedId), undefined, 'the merge record (it names identities) is gone');
    const refused = await request(
      h.nc,
      Subjects.inbound('app', 'app_open'),
      event('gone', 'app_open', 'app', 0, { id: absorbedId }),
    );
    assert.equal(!refused.ok && refused.error.code, 'CUSTOMER_ERASED');
  });

  it('merges once when several logins link the same two customers at the same moment', async () => {
    const timeZone = h.config.domain.timeZone;
    const device = { deviceId: `dev5-${run}` };
    const card = { loyaltyCard: `LC5-${run}` };
    const own = [
      event('r1', 'app_open', 'app', 2 * DAY, device),
      purchase('r2', 'pos', 3 * DAY, card, '맥주', 5000, 'bundang-01'),
    ];
    const [d, c] = await sendEvents(h.nc, own, 1);
    assert.ok(d.ok && c.ok && d.customerId !== c.customerId);
    const { survivorId, absorbedId } = survivorOf(d.customerId, c.customerId);
    const decisions = new DecisionRepository(h.cql);
    await decisions.saveContacts(absorbedId, { seq: 1, claims: {}, lifetime: { 'camp-c': 4 } }, 0);
    await contextDrained(h.nc, partitions());
    // Four logins of one person on two phones' worth of retries, through both doors at once.
    const logins = [0, 1, 2, 3].map((k) =>
      event(`r-login-${k}`, 'app_open', 'app', 30_000 - k * 1000, { ...device, ...card }),
    );
    const replies = await Promise.all(
      logins.map((login, k) =>
        k % 2
          ? request(h.nc, Subjects.inbound('app', 'app_open'), login)
          : fetch(`${h.services.urls.ingestion}/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(login),
            }).then(async (r) => (await r.json()) as IngestReply),
      ),
    );
    for (const r of replies) assert.ok(r.ok && r.customerId === survivorId, JSON.stringify(r));
    const merges = new MergeRepository(h.cql);
    await waitFor(
      'the merge to be done',
      async () => ((await merges.get(absorbedId))?.state === 'done' ? true : undefined),
      30_000,
    );
    await contextDrained(h.nc, partitions());
    const expected = modelSnapshot(
      [...own, ...logins].map((e) => accepted(e, survivorId)),
      survivorId,
      timeZone,
      Date.now(),
    );
    assert.deepEqual(comparable((await contextOf(contextUrl(), survivorId)).ctx), comparable(expected));
    assert.equal((await decisions.contacts(survivorId)).lifetime['camp-c'], 4, 'the ledger merged once');
    assert.deepEqual(await merges.absorbedBy(survivorId), [absorbedId]);
  });

  it('re-addresses a merge whose survivor was itself merged between the two steps', async () => {
    const [x, y, b] = await sendEvents(
      h.nc,
      [
        event('s1', 'visit', 'pos', DAY, { loyaltyCard: `LC8-${run}` }, {}, 'bundang-01'),
        event('s2', 'app_open', 'app', DAY, { deviceId: `dev8-${run}` }),
        purchase('s3', 'app', 2 * DAY, { deviceId: `dev9-${run}` }, '분유', 31000),
      ],
      1,
    );
    assert.ok(x.ok && y.ok && b.ok);
    const first = survivorOf(x.customerId, y.customerId);
    const login = event('s-login', 'app_open', 'app', 60_000, {
      loyaltyCard: `LC8-${run}`,
      deviceId: `dev8-${run}`,
    });
    assert.ok((await request(h.nc, Subjects.inbound('app', 'app_open'), login)).ok);
    const merges = new MergeRepository(h.cql);
    await waitFor(
      'the first merge',
      async () => ((await merges.get(first.absorbedId))?.state === 'done' ? true : undefined),
      30_000,
    );
    // A merge of b into the customer just absorbed, frozen before that customer was merged away.
    await merges.freeze(b.customerId, first.absorbedId, `m${run}-s-late`, new Date());
    const late = {
      ...accepted(event('s-late', 'app_open', 'app', 0, { deviceId: `dev9-${run}` }), first.absorbedId),
    };
    await redeliver(
      h.nc,
      { ...late, link: { survivorId: first.absorbedId, absorbedId: b.customerId, stage: 'absorb' } },
      partitions(),
    );
    const record = await waitFor(
      'the merge re-addressed and done',
      async () => {
        const r = await merges.get(b.customerId);
        return r?.state === 'done' ? r : undefined;
      },
      30_000,
    );
    assert.equal(record.survivorId, first.survivorId);
    await contextDrained(h.nc, partitions());
    const ids = (await contextOf(contextUrl(), first.survivorId)).ctx.recent.map((r) => r.id);
    for (const id of ['s1', 's2', 's3', 's-login', 's-late'])
      assert.ok(ids.includes(`m${run}-${id}`), `${id} in ${ids.join()}`);
    assert.deepEqual(
      (await merges.absorbedBy(first.survivorId)).sort(),
      [first.absorbedId, b.customerId].sort(),
    );
  });

  it('refuses a link to an erased customer, or between two cardholders — kept in the DLQ with the reason, nothing merged', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const device = { deviceId: `dev2-${run}` };
    const erasedCard = { loyaltyCard: `LC2-${run}` };
    const [d, c] = await sendEvents(
      h.nc,
      [
        event('x1', 'app_open', 'app', HOUR, device),
        event('x2', 'visit', 'pos', HOUR, erasedCard, {}, 'bundang-01'),
      ],
      1,
    );
    assert.ok(d.ok && c.ok);
    const gone = await fetch(`${contextUrl()}/v1/customers/${c.customerId}`, { method: 'DELETE' });
    assert.equal(gone.status, 200);
    // (The erased customer's card itself is free again — erasure removed it —, so the link names the id.)
    const toErased = event('x3', 'app_open', 'app', 0, { ...device, id: c.customerId });
    const erasedReply = await request(h.nc, Subjects.inbound('app', 'app_open'), toErased);
    assert.equal(!erasedReply.ok && erasedReply.error.code, 'CUSTOMER_ERASED', JSON.stringify(erasedReply));
    assert.match(
      !erasedReply.ok ? erasedReply.error.details[0].message : '',
      /cannot link: customer .* was erased/,
    );
    // Erased between the door and the merge (a race the door cannot see): the context service refuses the
    // merge at whichever of the two owners it reaches, and keeps it in its DLQ.
    const pair = survivorOf(d.customerId, c.customerId);
    const raced = {
      ...accepted(event('x4', 'app_open', 'app', 0, device), pair.absorbedId),
      link: { ...pair, stage: 'freeze' as const },
    };
    await redeliver(h.nc, raced, partitions());
    const contextKept = await waitFor('the raced merge in the DLQ', async () => {
      const records = await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('context'), from + 1);
      return records.find((m) => m.json<RawEvent>()['id'] === raced.id);
    });
    assert.match(
      contextKept.headers?.get(Headers.dlqReason) ?? '',
      /cannot merge .* was erased; nothing was merged/,
    );

    // A device already linked to one card, then logged in with another card: two cardholders stay apart.
    const [first] = await sendEvents(
      h.nc,
      [event('y1', 'app_open', 'app', HOUR, { deviceId: `dev3-${run}`, loyaltyCard: `LC3-${run}` })],
      1,
    );
    const [other] = await sendEvents(
      h.nc,
      [event('y2', 'visit', 'pos', HOUR, { loyaltyCard: `LC4-${run}` }, {}, 'bundang-01')],
      1,
    );
    assert.ok(first.ok && other.ok && first.customerId !== other.customerId);
    const conflict = event('y3', 'app_open', 'app', 0, {
      deviceId: `dev3-${run}`,
      loyaltyCard: `LC4-${run}`,
    });
    const conflictReply: IngestReply = await request(h.nc, Subjects.inbound('app', 'app_open'), conflict);
    assert.equal(
      !conflictReply.ok && conflictReply.error.code,
      'CUSTOMERS_CONFLICT',
      JSON.stringify(conflictReply),
    );

    const kept = await waitFor('both refusals in the DLQ', async () => {
      const records = await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('ingestion'), from + 1);
      const ours = records.filter((m) => [toErased['id'], conflict['id']].includes(m.json<RawEvent>()['id']));
      return ours.length === 2 ? ours : undefined;
    });
    const reasons = kept.map((m) => m.headers?.get(Headers.dlqReason) ?? '').sort();
    assert.match(reasons[0], /^CUSTOMERS_CONFLICT: customer: cannot link: .* each hold a loyalty card/);
    assert.match(reasons[1], /^CUSTOMER_ERASED: customer\.id: cannot link: customer .* was erased/);
    const merges = new MergeRepository(h.cql);
    for (const id of [d.customerId, c.customerId, first.customerId, other.customerId])
      assert.equal(await merges.get(id), undefined, `no merge record for ${id}`);
    const cardholder = await contextOf(contextUrl(), first.customerId);
    assert.equal(cardholder.ctx.all.d7.events, 1, 'the cardholder kept only their own event');
  });

  it('unlinks a merge made by mistake: each customer gets back its own history, identities and ledger', async () => {
    const timeZone = h.config.domain.timeZone;
    const device = { deviceId: `dev7-${run}` };
    const card = { loyaltyCard: `LC7-${run}` };
    const deviceEvents = [
      event('u1', 'app_open', 'app', 3 * DAY, device),
      purchase('u2', 'app', DAY, device, '분유', 30000),
    ];
    const cardEvents = [
      purchase('u3', 'pos', 3 * DAY + HOUR, card, '맥주', 4000, 'bundang-01'),
      event('u4', 'visit', 'pos', 2 * HOUR, card, {}, 'bundang-01'),
    ];
    const [d] = await sendEvents(h.nc, deviceEvents, 1);
    const [c] = await sendEvents(h.nc, cardEvents, 1);
    assert.ok(d.ok && c.ok);
    const { survivorId, absorbedId } = survivorOf(d.customerId, c.customerId);
    const absorbedEvents = absorbedId === d.customerId ? deviceEvents : cardEvents;
    const survivorEvents = absorbedId === d.customerId ? cardEvents : deviceEvents;
    const absorbedIdentity =
      absorbedId === d.customerId ? ['deviceId', device.deviceId] : ['loyaltyCard', card.loyaltyCard];
    const decisions = new DecisionRepository(h.cql);
    const today = localDay(nowMs, timeZone);
    await decisions.saveContacts(
      absorbedId,
      { seq: 1, claims: { [`d-u${run}/camp-b`]: `${today} app offer` }, lifetime: { 'camp-b': 1 } },
      0,
    );
    await contextDrained(h.nc, partitions());
    const login = event('u-login', 'app_open', 'app', 60_000, { ...device, ...card });
    assert.deepEqual(await request(h.nc, Subjects.inbound('app', 'app_open'), login), {
      ok: true,
      id: login['id'],
      customerId: survivorId,
    });
    const merges = new MergeRepository(h.cql);
    await waitFor(
      'the merge to be done',
      async () => ((await merges.get(absorbedId))?.state === 'done' ? true : undefined),
      30_000,
    );
    await contextDrained(h.nc, partitions());
    assert.equal((await contextOf(contextUrl(), survivorId)).ctx.all.d30.events, 5);

    const unlinked = await fetch(`${contextUrl()}/v1/customers/${absorbedId}/unlink`, { method: 'POST' });
    assert.equal(unlinked.status, 200);
    const { decisions: decisionsBack, ...receipt } = (await unlinked.json()) as Record<string, unknown>;
    assert.deepEqual(receipt, { absorbedId, survivorId, events: 2, days: 2, identities: 1 });
    for (const e of absorbedEvents) {
      const record = await decisions.findById(
        decisionIdOf({ channel: e['channel'] as string, id: e['id'] as string }),
      );
      if (record)
        assert.equal(record.customerId, absorbedId, `the decision of ${String(e['id'])} names it again`);
    }
    assert.equal(typeof decisionsBack, 'number');

    const now = Date.now();
    const survivorView = await contextOf(contextUrl(), survivorId);
    const survivorModel = modelSnapshot(
      [...survivorEvents, login].map((e) => accepted(e, survivorId)),
      survivorId,
      timeZone,
      now,
    );
    assert.deepEqual(
      comparable(survivorView.ctx),
      comparable(survivorModel),
      'the survivor: its own events and the login',
    );
    const absorbedView = await contextOf(contextUrl(), absorbedId);
    const absorbedModel = modelSnapshot(
      absorbedEvents.map((e) => accepted(e, absorbedId)),
      absorbedId,
      timeZone,
      now,
    );
    assert.deepEqual(
      comparable(absorbedView.ctx),
      comparable(absorbedModel),
      'the absorbed customer: its own events',
    );
    const owner = (
      await h.cql.execute(
        'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
        [absorbedIdentity[0], stored(absorbedIdentity[0], absorbedIdentity[1])],
        { prepare: true },
      )
    ).first();
    assert.equal(owner?.['customer_id'], absorbedId, 'its identifier names it again');
    assert.equal(
      (await decisions.contacts(survivorId)).lifetime['camp-b'],
      undefined,
      "the survivor's ledger without the other's offers",
    );
    assert.equal(await merges.get(absorbedId), undefined);

    // It takes events again by its identifier (once ingestion has dropped the cached owner: the log and the hint).
    const back = event('u5', 'app_open', 'app', 0, Object.fromEntries([absorbedIdentity]) as RawEvent);
    const [backReply] = await sendEvents(h.nc, [back], 1);
    assert.ok(backReply.ok);
    await contextDrained(h.nc, partitions());
    await waitFor('the event on the absorbed customer', async () =>
      (await contextOf(contextUrl(), absorbedId)).ctx.recent.some((r) => r.id === back['id'])
        ? true
        : undefined,
    );
    const again = await fetch(`${contextUrl()}/v1/customers/${absorbedId}/unlink`, { method: 'POST' });
    assert.equal(again.status, 404, 'nothing left to unlink');
  });
});
