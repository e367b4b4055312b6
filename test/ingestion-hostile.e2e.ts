import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Subjects, type IngestReply } from '@nunchi/contracts/core';
import { decodeJson } from '@nunchi/messaging';
import { runId, startHarness, type Harness } from './support/harness.js';
import { post } from './support/streams.js';

/** mulberry32: seeded, so a failing input can be reproduced */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Hostile input through both doors: every input gets a clear error (a code and at least one problem), the
 * service neither crashes nor slows down, and stays ready.
 */
describe('ingestion: hostile input', () => {
  let h: Harness;
  const run = runId();
  const at = new Date(Date.now() - 60_000).toISOString();
  const purchase = (over: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: `t${run}-h`,
      type: 'purchase',
      channel: 'pos',
      occurredAt: at,
      customer: { id: `t${run}-c` },
      storeId: 'store-1',
      payload: {
        amount: 2000,
        currency: 'KRW',
        items: [{ sku: 'a', category: 'snacks', quantity: 2, unitPrice: 1000 }],
        ...payload,
      },
      ...over,
    });
  /** The same text with one JSON value replaced by raw text (for values JSON.stringify cannot write). */
  const raw = (text: string, from: string, to: string) => text.replace(from, to);

  const hostile: Array<[string, Buffer]> = [];
  const add = (label: string, body: string | Buffer) =>
    hostile.push([label, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
  const r = prng(20261124);
  for (let i = 0; i < 40; i++)
    add(
      `random bytes ${i}`,
      Buffer.from(Array.from({ length: 1 + Math.floor(r() * 3000) }, () => Math.floor(r() * 256))),
    );
  add(
    'invalid UTF-8',
    Buffer.concat([
      Buffer.from(purchase().slice(0, 30)),
      Buffer.from([0xff, 0xfe, 0xc0, 0xaf]),
      Buffer.from(purchase().slice(30)),
    ]),
  );
  add(
    'UTF-8 surrogate half',
    Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
  );
  add('nested arrays, 100,000 deep', '['.repeat(100_000) + ']'.repeat(100_000));
  add('nested objects, 50,000 deep', '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000));
  add(
    'nested payload, 12 deep',
    purchase(
      {},
      {
        items: [
          {
            sku: 'a',
            category: 'x',
            quantity: 1,
            unitPrice: 1,
            name: JSON.parse('{"a":'.repeat(12) + '1' + '}'.repeat(12)) as unknown,
          },
        ],
      },
    ),
  );
  add('a 900 kB string', purchase({ storeId: 'x'.repeat(900_000) }));
  add('a 900 kB key', `{"${'k'.repeat(900_000)}":1}`);
  add(
    '5,000 keys',
    JSON.stringify(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]))),
  );
  add('100,000-element array', purchase({}, { items: Array.from({ length: 100_000 }, () => 1) }));
  add('__proto__ at the top', raw(purchase(), '{"id"', '{"__proto__":{"polluted":true},"id"'));
  add('__proto__ in the payload', raw(purchase(), '"amount"', '"__proto__":{"amount":1},"amount"'));
  add(
    'constructor.prototype',
    raw(purchase(), '{"id"', '{"constructor":{"prototype":{"polluted":true}},"id"'),
  );
  add('id as a number', purchase({ id: 42 }));
  add('customer as a string', purchase({ customer: 'c-1' }));
  add('payload as an array', purchase({ payload: [1, 2] }));
  add('items as an object', purchase({}, { items: { 0: { sku: 'a' } } }));
  add('type as a number', purchase({ type: 7 }));
  add('occurredAt as a number', purchase({ occurredAt: Date.now() }));
  add(
    'quantity as a string',
    purchase({}, { items: [{ sku: 'a', category: 'snacks', quantity: '2', unitPrice: 1000 }] }),
  );
  add('amount as a string', purchase({}, { amount: '2000' }));
  add('amount "NaN"', purchase({}, { amount: 'NaN' }));
  add('amount 1e309 (Infinity)', raw(purchase(), '"amount":2000', '"amount":1e309'));
  add('amount -1e309', raw(purchase(), '"amount":2000', '"amount":-1e309'));
  add(
    'unitPrice "Infinity"',
    purchase({}, { items: [{ sku: 'a', category: 'snacks', quantity: 2, unitPrice: 'Infinity' }] }),
  );
  add('quantity -0', raw(purchase(), '"quantity":2', '"quantity":-0'));
  add('quantity 1e21', raw(purchase(), '"quantity":2', '"quantity":1e21'));
  add('an amount 1.5 KRW off its items', raw(purchase(), '"amount":2000', '"amount":2001.5'));
  add('a boolean customer id', purchase({ customer: { id: true } }));
  add(
    'three identifiers',
    purchase({ customer: { id: 'c-1', phone: '010-1234-5678', email: 'a@example.com' } }),
  );
  add('empty body', '');
  add('null', 'null');
  add('true', 'true');
  add('a string', '"purchase"');
  add('a number', '1e309');
  add('an array of arrays', '[[]]');
  add('NUL bytes', Buffer.from(purchase().replace('store-1', 'store\u0000-1')));

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  const valid = (i: number) => purchase({ id: `t${run}-ok-${i}` });
  async function roundTrips(label: string): Promise<number[]> {
    const ms: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const reply = decodeJson(
        (
          await h.nc.request(Subjects.inbound('pos', 'purchase'), valid(i + (label === 'after' ? 100 : 0)), {
            timeout: 5_000,
          })
        ).data,
      ) as IngestReply;
      ms.push(performance.now() - t0);
      assert.ok(reply.ok, `${label}: ${JSON.stringify(reply)}`);
    }
    return ms;
  }

  function assertClearError(label: string, reply: unknown): void {
    const r = reply as IngestReply;
    assert.ok(r && r.ok === false, `${label}: not refused: ${JSON.stringify(reply)?.slice(0, 200)}`);
    if (r.ok) return;
    assert.ok(
      ['MALFORMED_JSON', 'VALIDATION_FAILED', 'TOO_LARGE', 'SUBJECT_MISMATCH'].includes(r.error.code),
      `${label}: ${r.error.code}`,
    );
    assert.ok(
      r.error.details.length > 0 &&
        r.error.details.every((d) => typeof d.message === 'string' && d.message.length > 0),
      `${label}: no clear problem`,
    );
    assert.ok(
      JSON.stringify(r).length < 4_000,
      `${label}: the answer echoes the input (${JSON.stringify(r).length} characters)`,
    );
  }

  it(`answers each of ${hostile.length} hostile inputs through both doors with a clear error, stays fast and ready`, async () => {
    const before = await roundTrips('before');
    const started = performance.now();
    const answers = await Promise.all(
      hostile.map(async ([label, body]) => {
        const t0 = performance.now();
        const [viaNats, viaHttp] = await Promise.all([
          h.nc
            .request(Subjects.inbound('pos', 'purchase'), body, { timeout: 10_000 })
            .then((m) => decodeJson(m.data)),
          post(`${h.services.urls.ingestion}/v1/events`, body),
        ]);
        return { label, viaNats, viaHttp, ms: performance.now() - t0 };
      }),
    );
    const barrageMs = performance.now() - started;
    for (const { label, viaNats, viaHttp } of answers) {
      assertClearError(`NATS ${label}`, viaNats);
      const batch = (viaHttp.body as { results?: unknown[] }).results;
      if (viaHttp.status === 200 && batch) {
        // A JSON array is a batch: answered item by item.
        assert.ok(batch.length > 0);
        for (const item of batch) assertClearError(`HTTP ${label} (item)`, item);
        continue;
      }
      assert.ok(
        [400, 413, 422].includes(viaHttp.status),
        `HTTP ${label}: status ${viaHttp.status} ${viaHttp.text.slice(0, 200)}`,
      );
      assertClearError(`HTTP ${label}`, viaHttp.body);
    }
    const slowest = answers.reduce((a, b) => (a.ms > b.ms ? a : b));
    assert.ok(
      barrageMs < 10_000,
      `the barrage took ${barrageMs.toFixed(0)} ms (slowest: ${slowest.label}, ${slowest.ms.toFixed(0)} ms)`,
    );

    const afterwards = await roundTrips('after');
    const [b, a] = [median(before), median(afterwards)];
    assert.ok(
      a <= Math.max(4 * b, 25),
      `a valid event's round trip went from ${b.toFixed(2)} ms to ${a.toFixed(2)} ms (median of 20)`,
    );
    const crashed = await Promise.race([
      h.services.crashed,
      new Promise<undefined>((r) => setTimeout(r, 100, undefined)),
    ]);
    assert.equal(crashed, undefined, `${crashed} crashed`);
    assert.equal((await fetch(`${h.services.urls.ingestion}/ready`)).status, 200);
  });
});
