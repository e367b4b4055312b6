import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Headers, Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import { encodeJson } from '@nunchi/messaging';
import { request, runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, post, readStream, type StoredMsg } from './support/streams.js';

/** Two doors, one behaviour: NATS request/publish on mkt.in.<channel>.<type> and HTTP POST /v1/events. */
describe('ingestion: the NATS and HTTP doors', () => {
  let h: Harness;
  let url: string;
  const run = runId();
  const at = new Date(Date.now() - 60_000).toISOString();
  const visit = (id: string, customer = `t${run}-c1`) => ({
    id: `t${run}-${id}`,
    type: 'visit',
    channel: 'pos',
    occurredAt: at,
    customer: { id: customer },
    storeId: 'store-1',
    payload: {},
  });

  before(async () => {
    h = await startHarness();
    url = `${h.services.urls.ingestion}/v1/events`;
  });
  after(async () => {
    await h?.close();
  });

  /** DLQ records of ingestion stored since `from`, newest last. */
  const dlqSince = (from: number) => readStream(h.nc, Streams.DLQ.name, Subjects.dlq('ingestion'), from + 1);
  const header = (m: StoredMsg, name: string) => m.headers?.get(name) ?? '';

  it('answers a valid event the same way through both doors', async () => {
    const viaNats = await request(h.nc, Subjects.inbound('pos', 'visit'), visit('same-1'));
    const viaHttp = await post(url, JSON.stringify(visit('same-2')));
    assert.deepEqual(viaNats, { ok: true, id: `t${run}-same-1`, customerId: `t${run}-c1` });
    assert.equal(viaHttp.status, 200);
    assert.deepEqual(viaHttp.body, { ok: true, id: `t${run}-same-2`, customerId: `t${run}-c1` });
  });

  it('rejects an invalid event with the same problems through both doors, and keeps both in the DLQ', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const bad = { ...visit('bad-1'), storeId: 'store 1', payload: { entrance: 5, vip: true } };
    const viaNats = await request(h.nc, Subjects.inbound('pos', 'visit'), bad);
    const body = JSON.stringify(bad);
    const viaHttp = await post(url, body);
    assert.equal(viaHttp.status, 422);
    assert.deepEqual(viaHttp.body, viaNats);
    assert.ok(!viaNats.ok);
    if (!viaNats.ok)
      assert.deepEqual([...new Set(viaNats.error.details.map((d) => d.path))].sort(), [
        'payload.entrance',
        'payload.vip',
        'storeId',
      ]);
    const kept = await waitFor('two DLQ records', async () => {
      const records = await dlqSince(from);
      return records.length >= 2 ? records : undefined;
    });
    assert.deepEqual(
      kept.map((m) => header(m, Headers.dlqSubject)),
      [Subjects.inbound('pos', 'visit'), 'POST /v1/events'],
    );
    for (const m of kept) {
      assert.equal(Buffer.from(m.data).toString('utf8'), body, 'the bytes exactly as received');
      assert.match(header(m, Headers.dlqReason), /^VALIDATION_FAILED: .*storeId/);
      assert.ok(
        Math.abs(Date.parse(header(m, Headers.dlqAt)) - Date.now()) < 60_000,
        'time of the rejection',
      );
    }
  });

  it('answers malformed JSON with 400 MALFORMED_JSON and keeps the raw bytes in the DLQ', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const broken = Buffer.concat([
      Buffer.from('{"id":"x","type":"visit", '),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(' ,,}'),
    ]);
    const notJson = Buffer.from(`{"id":"t${run}-nj", oops}`);
    const a = await post(url, broken);
    const b = await post(url, notJson);
    assert.equal(a.status, 400);
    assert.deepEqual(a.body, {
      ok: false,
      error: { code: 'MALFORMED_JSON', details: [{ path: '', message: 'body is not valid UTF-8' }] },
    });
    assert.equal(b.status, 400);
    assert.equal((b.body as { error: { code: string } }).error.code, 'MALFORMED_JSON');
    const viaNats = await request(h.nc, Subjects.inbound('pos', 'visit'), notJson);
    assert.equal(!viaNats.ok && viaNats.error.code, 'MALFORMED_JSON');
    const kept = await waitFor('three DLQ records', async () => {
      const records = await dlqSince(from);
      return records.length >= 3 ? records : undefined;
    });
    assert.deepEqual(Buffer.from(kept[0].data), broken, 'invalid UTF-8 kept byte for byte');
    assert.deepEqual(Buffer.from(kept[1].data), notJson);
    assert.deepEqual(Buffer.from(kept[2].data), notJson);
    assert.match(header(kept[0], Headers.dlqReason), /^MALFORMED_JSON/);
  });

  it('answers a batch of up to 500 item by item, in order, and refuses 0 or 501 items as a whole', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const batch: unknown[] = Array.from({ length: 500 }, (_, i) => visit(`b-${i}`, `t${run}-c${i % 7}`));
    batch[3] = { ...visit('b-3'), channel: 'p o s' };
    batch[499] = 'not an event';
    const answer = await post(url, JSON.stringify(batch));
    assert.equal(answer.status, 200);
    const results = (answer.body as { results: IngestReply[] }).results;
    assert.equal(results.length, 500);
    results.forEach((r, i) => {
      if (i === 3 || i === 499) assert.equal(r.ok, false, `item ${i}`);
      else
        assert.deepEqual(r, { ok: true, id: `t${run}-b-${i}`, customerId: `t${run}-c${i % 7}` }, `item ${i}`);
    });
    assert.equal(!results[3].ok && results[3].id, `t${run}-b-3`);

    const tooMany = JSON.stringify(Array.from({ length: 501 }, (_, i) => visit(`x-${i}`)));
    const refused = await post(url, tooMany);
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, {
      ok: false,
      error: {
        code: 'VALIDATION_FAILED',
        details: [{ path: '', message: 'a batch holds 1 to 500 events, not 501' }],
      },
    });
    assert.equal((await post(url, '[]')).status, 400);
    const kept = await waitFor('DLQ records of two items and two batches', async () => {
      const records = await dlqSince(from);
      return records.length >= 4 ? records : undefined;
    });
    assert.deepEqual(
      JSON.parse(Buffer.from(kept[0].data).toString()),
      batch[3],
      'a rejected item, re-encoded',
    );
    assert.equal(Buffer.from(kept[2].data).toString(), tooMany, 'a refused batch, byte for byte');
  });

  it('answers a body above 1 MiB with 413 TOO_LARGE and leaves a DLQ record without the bytes', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const answer = await post(
      url,
      JSON.stringify({ ...visit('big'), payload: { entrance: 'x'.repeat(1_100_000) } }),
    );
    assert.equal(answer.status, 413);
    assert.equal((answer.body as { error: { code: string } }).error.code, 'TOO_LARGE');
    const [kept] = await waitFor('the DLQ record', async () => {
      const records = await dlqSince(from);
      return records.length ? records : undefined;
    });
    assert.equal(kept.data.length, 0);
    assert.match(
      header(kept, Headers.dlqReason),
      /^TOO_LARGE: (\(root\) )?body of \d+ bytes is above the limit of 1048576 bytes/,
    );
  });

  it('refuses a NATS subject that is not mkt.in.<channel>.<type>, and keeps a plain publish’s rejection in the DLQ only', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const wrong = await request(h.nc, 'mkt.in.pos.visit.extra', visit('sub-1'));
    assert.deepEqual(wrong, {
      ok: false,
      error: {
        code: 'SUBJECT_MISMATCH',
        details: [{ path: '', message: 'publish on mkt.in.<channel>.<type>' }],
      },
    });
    const hdrs = natsHeaders();
    hdrs.set('x-test', run);
    h.nc.publish(
      Subjects.inbound('pos', 'visit'),
      encodeJson({ ...visit('pub-1'), occurredAt: 'yesterday' }),
      { headers: hdrs },
    );
    const kept = await waitFor('two DLQ records', async () => {
      const records = await dlqSince(from);
      return records.length >= 2 ? records : undefined;
    });
    assert.equal(header(kept[0], Headers.dlqSubject), 'mkt.in.pos.visit.extra');
    assert.match(header(kept[1], Headers.dlqReason), /occurredAt/);
  });

  it('serves its OpenAPI description, and every other route answers in the error shape', async () => {
    assert.equal((await fetch(`${h.services.urls.ingestion}/docs`)).status, 200);
    const missing = await fetch(`${h.services.urls.ingestion}/v1/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(
      ((await missing.json()) as { ok: boolean; error: { code: string } }).error.code,
      'NOT_FOUND',
    );
  });
});
