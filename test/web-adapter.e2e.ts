// examples/web-adapter: a web event carries its session, and its offer reaches that browser session (as
// server-sent events from the adapter), not another session and not the store subject the tills use.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { natsIdentityEnv } from '@nunchi/config';
import { Subjects, type OfferMessage } from '@nunchi/contracts/core';
import { decodeJson } from '@nunchi/messaging';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { startWebAdapter, type RunningWebAdapter } from '../examples/web-adapter.js';
import { campaignFile, waitLoaded } from './support/decision.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';

/** An open server-sent-events stream and the offers it delivered so far. */
async function offersOf(url: string): Promise<{ offers: OfferMessage[]; close(): void }> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const offers: OfferMessage[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  void (async () => {
    let text = '';
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch {
        return; // aborted
      }
      if (chunk.done) return;
      text += new TextDecoder().decode(chunk.value);
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(text.slice(0, end));
        if (data) offers.push(JSON.parse(data[1]) as OfferMessage);
        text = text.slice(end + 2);
      }
    }
  })();
  return { offers, close: () => controller.abort() };
}

describe('examples/web-adapter: offers reach the web session that earned them', () => {
  let h: Harness;
  let adapter: RunningWebAdapter;
  const run = runId();
  const campaignId = `t${run}-web`;
  const sku = `t${run}-formula`;

  before(async () => {
    h = await startHarness();
    await applyCampaign(
      h.resources,
      campaignFile({
        id: campaignId,
        trigger: { types: ['product_view'], channels: ['web'] },
        condition: `'분유' in event.categories && event.payload.sku == '${sku}'`,
        offers: [{ id: 'formula-coupon', title: '분유 10% 할인', value: 3200 }],
        priority: 99,
      }),
    );
    await waitLoaded([h.services.urls.decision], campaignId, 1);
    // as the web channel's adapter, with its identity's permissions (on a server with the project's identities)
    adapter = await startWebAdapter({
      port: 0,
      natsUrl: h.config.nats.url,
      natsEnv: { ...process.env, ...natsIdentityEnv('adapter-web') },
      print: () => undefined,
    });
  });
  after(async () => {
    await adapter?.close();
    await h?.close();
  });

  it('serves the shop page', async () => {
    const page = await (await fetch(`${adapter.url}/`)).text();
    assert.match(page, /new EventSource\('\/offers\?session='/);
  });

  it('streams the offer to its session only, on mkt.offers.web.session.<id>', async () => {
    const [mine, other] = [`t${run}A`, `t${run}B`];
    const mineStream = await offersOf(`${adapter.url}/offers?session=${mine}`);
    const otherStream = await offersOf(`${adapter.url}/offers?session=${other}`);
    const onStoreSubject: OfferMessage[] = [];
    const storeSub = h.nc.subscribe(Subjects.offer('web', undefined), {
      callback: (_e, m) => void onStoreSubject.push(decodeJson(m.data) as OfferMessage),
    });
    try {
      const answer = await fetch(`${adapter.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sessionId: mine,
          deviceId: `web-t${run}`,
          seq: 1,
          type: 'product_view',
          payload: { sku, category: '분유', price: 32000 },
        }),
      });
      assert.equal(answer.status, 200);
      const body = (await answer.json()) as { ok: boolean; id: string };
      assert.deepEqual([body.ok, body.id], [true, `web-${mine}-1`]);
      const offer = await waitFor('the offer on the session stream', () =>
        Promise.resolve(mineStream.offers[0]),
      );
      assert.deepEqual(
        [offer.campaignId, offer.title, offer.eventId],
        [campaignId, '분유 10% 할인', `web-${mine}-1`],
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(otherStream.offers, []);
      assert.deepEqual(
        onStoreSubject.filter((o) => o.campaignId === campaignId),
        [],
      );
    } finally {
      storeSub.unsubscribe();
      mineStream.close();
      otherStream.close();
    }
  });

  it('answers a malformed browser post with 400 and what is wrong, sending nothing', async () => {
    const answer = await fetch(`${adapter.url}/events`, {
      method: 'POST',
      body: JSON.stringify({
        sessionId: 'bad session',
        deviceId: 'd',
        seq: 1,
        type: 'product_view',
        payload: {},
      }),
    });
    assert.equal(answer.status, 400);
    assert.deepEqual(await answer.json(), { ok: false, error: 'sessionId must be 1-64 of [A-Za-z0-9_-]' });
  });
});
