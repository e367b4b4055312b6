import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { projectPath } from '@nunchi/config';
import { Headers, Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { request, runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, post, readStream } from './support/streams.js';

const exec = promisify(execFile);

/** Runs the real `nunchi` command line against this test's NATS and Cassandra. */
async function nunchi(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await exec(
      process.execPath,
      [projectPath('dist', 'apps', 'cli', 'src', 'main.js'), ...args],
      { env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

describe('ingestion: failure without loss', () => {
  let h: Harness;
  const run = runId();
  const at = new Date(Date.now() - 60_000).toISOString();
  const visit = (id: string) => ({
    id: `t${run}-${id}`,
    type: 'visit',
    channel: 'pos',
    occurredAt: at,
    customer: { id: `t${run}-c` },
    storeId: 'store-1',
    payload: {},
  });

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('answers UNAVAILABLE_RETRY (HTTP 503) while EVENTS cannot store, acknowledges nothing unstored, and stores the retries once', async () => {
    const jsm = await jetstreamManager(h.nc);
    const original = (await jsm.streams.info(Streams.EVENTS.name)).config;
    // One event stored first: below, the stream is limited to the count it holds, and a limit of an empty
    // stream's count (0) would be no limit at all (1 at least: one more stored). Run alone, or first on its
    // NATS server, the stream may be empty here.
    const first = await request(h.nc, Subjects.inbound('pos', 'visit'), visit('full-first'));
    assert.equal(first.ok, true, JSON.stringify(first));
    const stored = await lastSeq(h.nc, Streams.EVENTS.name);
    const dlq = await lastSeq(h.nc, Streams.DLQ.name);
    const viaNats = Array.from({ length: 20 }, (_, i) => visit(`full-n${i}`));
    const single = visit('full-h');
    const batch = Array.from({ length: 5 }, (_, i) => visit(`full-b${i}`));
    const all = [...viaNats, single, ...batch].map((e) => e.id);
    const send = async () => ({
      nats: await Promise.all(viaNats.map((e) => request(h.nc, Subjects.inbound('pos', 'visit'), e))),
      http: await post(`${h.services.urls.ingestion}/v1/events`, JSON.stringify(single)),
      batch: await post(`${h.services.urls.ingestion}/v1/events`, JSON.stringify(batch)),
    });

    // The stream is full and refuses new messages: JetStream cannot store. (For a few milliseconds, on the
    // NATS server of this test run; the configuration is put back whatever happens.)
    const { messages } = (await jsm.streams.info(Streams.EVENTS.name)).state;
    await jsm.streams.update(Streams.EVENTS.name, {
      ...original,
      max_msgs: messages,
      discard: DiscardPolicy.New,
    });
    let refused: Awaited<ReturnType<typeof send>>;
    try {
      refused = await send();
    } finally {
      await jsm.streams.update(Streams.EVENTS.name, { ...original, max_msgs: -1, discard: original.discard });
    }
    const retry: IngestReply = {
      ok: false,
      id: '',
      error: {
        code: 'UNAVAILABLE_RETRY',
        message: 'event store unavailable; nothing was stored, retry',
        details: [],
      },
    };
    refused.nats.forEach((r, i) => assert.deepEqual(r, { ...retry, id: viaNats[i].id }));
    assert.equal(refused.http.status, 503);
    assert.deepEqual(refused.http.body, { ...retry, id: single.id });
    assert.equal(refused.batch.status, 503);
    (refused.batch.body as { results: IngestReply[] }).results.forEach((r, i) =>
      assert.deepEqual(r, { ...retry, id: batch[i].id }),
    );

    const ids = async () =>
      (await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsAll, stored + 1))
        .map((m) => m.json<AcceptedEvent>().id)
        .filter((id) => all.includes(id));
    assert.deepEqual(await ids(), [], 'nothing was stored');
    const dead = (await readStream(h.nc, Streams.DLQ.name, Subjects.dlqAll, dlq + 1)).filter((m) =>
      all.some((id) => Buffer.from(m.data).toString().includes(id)),
    );
    assert.deepEqual(dead, [], 'not rejected either: the sender retries');

    // The senders retry: everything is stored, exactly once, and none of it is a "duplicate".
    const retried = await send();
    for (const r of [
      ...retried.nats,
      retried.http.body as IngestReply,
      ...(retried.batch.body as { results: IngestReply[] }).results,
    ]) {
      assert.ok(r.ok && !r.duplicate, JSON.stringify(r));
    }
    assert.deepEqual((await ids()).sort(), [...all].sort());
  });

  it('nunchi dlq list shows rejected input with its subject, reason, time and bytes; replay gets a fixed entry accepted once', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    // A till whose clock runs 5 min 3 s ahead: rejected now, valid a few seconds later. It names its customer
    // by phone, which the DLQ keeps sealed and the replay opens.
    const phone = `010-${run.replace(/\D/g, '').padEnd(4, '7').slice(0, 4)}-5678`;
    const ahead = {
      ...visit('ahead'),
      customer: { phone },
      occurredAt: new Date(Date.now() + 303_000).toISOString(),
    };
    const hopeless = {
      ...visit('hopeless'),
      type: 'purchase',
      payload: {
        amount: 1,
        currency: 'WON',
        items: [{ sku: 'a', category: 'x', quantity: 1, unitPrice: 1 }],
      },
    };
    assert.match(
      JSON.stringify(await request(h.nc, Subjects.inbound('pos', 'visit'), ahead)),
      /more than 5 minutes in the future/,
    );
    assert.ok(!(await request(h.nc, Subjects.inbound('pos', 'purchase'), hopeless)).ok);
    const [first, second] = await waitFor('two DLQ entries', async () => {
      const records = await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('ingestion'), from + 1);
      return records.length >= 2 ? records.map((m) => m.seq) : undefined;
    });

    const listed = await nunchi('dlq', 'list', '--stage', 'ingestion', '--limit', '1000');
    assert.equal(listed.code, 0, listed.out);
    assert.ok(!listed.out.includes(phone), 'the phone number is not in the DLQ');
    assert.match(
      listed.out,
      new RegExp(
        `#${first} \\S+Z ingestion mkt\\.in\\.pos\\.visit\\n    reason: VALIDATION_FAILED: occurredAt: more than 5 minutes in the future\\n    sealed \\(personal data\\): customer\\.phone\\n    \\d+ bytes: \\{"id":"t${run}-ahead"`,
      ),
    );
    assert.match(
      listed.out,
      new RegExp(
        `#${second} .* mkt\\.in\\.pos\\.purchase\\n    reason: VALIDATION_FAILED: payload\\.currency`,
      ),
    );

    await new Promise((r) =>
      setTimeout(r, Math.max(0, Date.parse(ahead.occurredAt) - 300_000 - Date.now()) + 500),
    );
    const events = await lastSeq(h.nc, Streams.EVENTS.name);
    const replayed = await nunchi('dlq', 'replay', '--seq', String(first));
    assert.equal(replayed.code, 0, replayed.out);
    assert.match(
      replayed.out,
      new RegExp(`#${first} mkt\\.in\\.pos\\.visit: accepted — t${run}-ahead → c-[0-9a-f]{24}`),
    );
    const again = await nunchi('dlq', 'replay', '--seq', String(first));
    assert.match(again.out, new RegExp(`#${first} mkt\\.in\\.pos\\.visit: skipped — already replayed`));
    const stored = (await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsAll, events + 1)).filter(
      (m) => m.json<AcceptedEvent>().id === ahead.id,
    );
    assert.equal(stored.length, 1, 'stored once');

    const failed = await nunchi('dlq', 'replay', '--seq', String(second));
    assert.equal(failed.code, 3, 'exit code 3: an entry was rejected again');
    assert.match(
      failed.out,
      new RegExp(`#${second} mkt\\.in\\.pos\\.purchase: rejected — VALIDATION_FAILED: payload\\.currency`),
    );
    await nunchi('dlq', 'replay', '--seq', String(second));
    const copies = (await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('ingestion'), from + 1)).filter(
      (m) => m.headers?.get(Headers.dlqReplayOf) === String(second),
    );
    assert.equal(copies.length, 1, 'a failing replay is recorded once, marked as a replay');

    const everything = await nunchi('dlq', 'replay');
    assert.match(everything.out, new RegExp(`#${first} .*: skipped — already replayed`));
    assert.match(
      everything.out,
      new RegExp(`#${copies[0].seq} .*: skipped — the record of a failed replay of #${second}`),
    );
    assert.match(everything.out, /^accepted \d+, rejected again \d+, skipped \d+, no answer 0$/m);

    const after = await nunchi('dlq', 'list', '--stage', 'ingestion', '--limit', '1000');
    assert.match(after.out, new RegExp(`#${first} .*\\[replayed: accepted as t${run}-ahead\\]`));
    assert.match(after.out, new RegExp(`#${copies[0].seq} .*\\[failed replay of #${second}\\]`));
  });
});
