/**
 * An example channel adapter for the web shop: offers reach the browser session whose event earned them.
 *
 *   node dist/examples/web-adapter.js --port 8088          # then open http://127.0.0.1:8088/
 *
 * What a real web adapter does, and nothing more:
 *   1. the browser (the page served at /) keeps a session id and the visitor's device id in localStorage and
 *      posts what the visitor does (POST /events: page and product views, carts) to this adapter;
 *   2. the adapter turns each into an event with `"sessionId"` and `"customer": {"deviceId": …}`, requests it
 *      on mkt.in.web.<type> with an id unique per session and action (the idempotency key) and answers the
 *      browser with Nunchi's answer;
 *   3. an offer for that session arrives on mkt.offers.web.session.<sessionId> (not on the store subject the
 *      tills use); the adapter subscribes per open browser and streams it to the page as server-sent events
 *      (GET /offers?session=<id>) — one subscription per connected session, dropped when the page closes.
 *
 * Only the NATS client, node:http and the contract are used. Options: --port (default 8088), --host (default
 * 127.0.0.1), NATS_URL (default nats://127.0.0.1:14222), NATS_NKEY_SEED_FILE (its identity's seed: examples/nats-identity.ts). The adapter's NATS identity needs publish on
 * mkt.in.web.> and subscribe on mkt.offers.web.> (`npm run nats:config` generates exactly that).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { adapterConnectionOptions } from './nats-identity.js';
import { isSubjectToken, Subjects, type IngestReply, type OfferMessage } from '@nunchi/contracts';

/** What the page may send: the browser side of the contract, before the adapter adds ids and the session. */
interface BrowserAction {
  sessionId: string;
  deviceId: string;
  /** a counter the page keeps per session: with the session it makes the event id, so a re-post is a repeat */
  seq: number;
  type: 'page_view' | 'product_view' | 'cart';
  payload: Record<string, unknown>;
}

const ACTION_TYPES = new Set(['page_view', 'product_view', 'cart']);
const MAX_BODY_BYTES = 16 * 1024;

/** Checks the browser's post; an error message for the page, or the action. */
export function browserAction(body: unknown): BrowserAction | string {
  if (body === null || typeof body !== 'object') return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b['sessionId'] !== 'string' || !isSubjectToken(b['sessionId']))
    return 'sessionId must be 1-64 of [A-Za-z0-9_-]';
  if (typeof b['deviceId'] !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(b['deviceId']))
    return 'deviceId must be printable ASCII';
  if (!Number.isInteger(b['seq']) || (b['seq'] as number) < 0) return 'seq must be a whole number';
  if (typeof b['type'] !== 'string' || !ACTION_TYPES.has(b['type']))
    return 'type must be page_view, product_view or cart';
  if (b['payload'] === null || typeof b['payload'] !== 'object') return 'payload must be an object';
  return b as unknown as BrowserAction;
}

/** The Nunchi event for a browser action (the contract: docs/schemas/event.schema.json). */
export function eventOf(action: BrowserAction, nowMs = Date.now()) {
  return {
    id: `web-${action.sessionId}-${action.seq}`,
    type: action.type,
    channel: 'web',
    occurredAt: new Date(nowMs).toISOString(),
    customer: { deviceId: action.deviceId },
    sessionId: action.sessionId,
    payload: action.payload,
  };
}

export interface WebAdapterOptions {
  port?: number;
  host?: string;
  natsUrl?: string;
  /** where its NATS identity comes from (NATS_USER, NATS_NKEY_SEED_FILE, …); @default process.env */
  natsEnv?: NodeJS.ProcessEnv;
  /** where lines go; @default console.log */
  print?: (line: string) => void;
}

export interface RunningWebAdapter {
  url: string;
  close(): Promise<void>;
}

export async function startWebAdapter(options: WebAdapterOptions = {}): Promise<RunningWebAdapter> {
  const print = options.print ?? ((line: string) => console.log(line));
  const nc = await connect({
    ...adapterConnectionOptions('web', options.natsUrl, options.natsEnv),
    name: 'web-adapter',
  });
  const server = createServer((req, res) => {
    void route(nc, req, res, print).catch((error: Error) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: error.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 8088, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address();
  const url = `http://${options.host ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : options.port}`;
  print(`web adapter on ${url}/ (offers by session on mkt.offers.web.session.<sessionId>)`);
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await nc.drain();
    },
  };
}

async function route(
  nc: NatsConnection,
  req: IncomingMessage,
  res: ServerResponse,
  print: (line: string) => void,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://adapter');
  if (req.method === 'GET' && url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
    return;
  }
  if (req.method === 'GET' && url.pathname === '/offers') {
    const session = url.searchParams.get('session') ?? '';
    if (!isSubjectToken(session))
      return send(res, 400, { ok: false, error: 'session must be 1-64 of [A-Za-z0-9_-]' });
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': offers for this session follow\n\n');
    const sub = nc.subscribe(Subjects.offerToSession('web', session), {
      callback: (_error, msg) => {
        const offer = msg.json<OfferMessage>();
        print(
          `offer for session ${session}: ${offer.title} (${offer.campaignId}, decision ${offer.decisionId})`,
        );
        res.write(`event: offer\ndata: ${JSON.stringify(offer)}\n\n`);
      },
    });
    req.on('close', () => sub.unsubscribe());
    return;
  }
  if (req.method === 'POST' && url.pathname === '/events') {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      return send(res, 400, { ok: false, error: (error as Error).message });
    }
    const action = browserAction(body);
    if (typeof action === 'string') return send(res, 400, { ok: false, error: action });
    const event = eventOf(action);
    const reply = (
      await nc.request(Subjects.inbound('web', event.type), JSON.stringify(event), { timeout: 5_000 })
    ).json<IngestReply>();
    return send(res, reply.ok ? 200 : 422, reply);
  }
  send(res, 404, { ok: false, error: 'GET /, GET /offers?session=<id> or POST /events' });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body is over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The shop page: three products, a cart button, and offers as they arrive for this session. */
const PAGE = `<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>Nunchi web shop example</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}button{margin:.2rem}#offers li{background:#fff4d6;padding:.4rem;margin:.3rem 0}</style>
</head><body>
<h1>웹 쇼핑 예제 · Web shop example</h1>
<p>Session <code id="session"></code>, device <code id="device"></code></p>
<div id="products"></div>
<h2>혜택 · Offers</h2><ul id="offers"></ul>
<script>
const token = () => (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/-/g, '');
const sessionId = sessionStorage.session || (sessionStorage.session = token());
const deviceId = localStorage.device || (localStorage.device = 'web-' + token());
let seq = Number(sessionStorage.seq || 0);
document.getElementById('session').textContent = sessionId;
document.getElementById('device').textContent = deviceId;
const products = [
  { sku: '880123', category: '분유', name: '분유 800 g', price: 32000 },
  { sku: '880555', category: '맥주', name: '라거 500 ml', price: 4500 },
  { sku: '881020', category: '김치', name: '김치 1 kg', price: 12900 },
];
async function post(type, payload) {
  sessionStorage.seq = ++seq;
  const r = await fetch('/events', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId, deviceId, seq, type, payload }) });
  return r.json();
}
for (const p of products) {
  const div = document.createElement('div');
  const view = document.createElement('button'); view.textContent = p.name + ' 보기 · view';
  view.onclick = () => post('product_view', { sku: p.sku, category: p.category, price: p.price });
  const cart = document.createElement('button'); cart.textContent = '장바구니 · add to cart';
  cart.onclick = () => post('cart', { action: 'add', sku: p.sku, category: p.category, quantity: 1, unitPrice: p.price });
  div.append(view, cart); document.getElementById('products').append(div);
}
const offers = new EventSource('/offers?session=' + sessionId);
offers.addEventListener('offer', (e) => {
  const o = JSON.parse(e.data); const li = document.createElement('li');
  li.textContent = o.title + ' (' + o.campaignId + ')'; document.getElementById('offers').append(li);
});
post('page_view', { url: location.href });
</script></body></html>`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8088' },
      host: { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(
      'node dist/examples/web-adapter.js [--port 8088] [--host 127.0.0.1]   (NATS_URL, default nats://127.0.0.1:4222)',
    );
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, got ${values.port}`);
  const adapter = await startWebAdapter({ port, host: values.host });
  process.once('SIGINT', () => void adapter.close());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main().catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
