/**
 * An example channel adapter: the tills of one store.
 *
 *   node dist/examples/till-simulator.js --store bundang-01 --rate 5
 *   node dist/examples/till-simulator.js --store bundang-01 --rate 2 --customers LC-0042,LC-0043 --basket founding --count 10
 *
 * It does what a real POS adapter does, and nothing more:
 *   1. sends each purchase as a request on mkt.in.pos.purchase (the event contract: docs/schemas/event.schema.json),
 *      with an id that is unique per till and receipt — the idempotency key, so a retry can never count twice;
 *   2. reads the answer: {"ok":true,…} means stored; a VALIDATION_FAILED answer is a bug in the adapter (it is
 *      printed, and kept by Nunchi in its DLQ); UNAVAILABLE_RETRY or no answer means "not stored": send the
 *      same event again, with the same id, after a pause;
 *   3. listens on mkt.offers.pos.<store> and shows each offer at the till it is for (the one whose receipt
 *      it answers: offer.eventId is the purchase's id).
 *
 * Only the NATS client and the contract are used: an adapter in any language does the same with its NATS
 * client. Options: --store <id> (required), --rate <purchases/s> (default 1), --customers <card,card,…>
 * (loyalty cards; default 50 made-up ones), --basket random|founding (default random), --count <n> (stop after
 * n purchases; default: until Ctrl-C), --tills <n> (default 4), NATS_URL (default nats://127.0.0.1:14222), NATS_NKEY_SEED_FILE (its identity's seed: examples/nats-identity.ts).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { adapterConnectionOptions } from './nats-identity.js';
import { isSubjectToken, Subjects, type IngestReply, type OfferMessage } from '@nunchi/contracts';

export interface TillOptions {
  store: string;
  /** purchases per second, all tills together */
  rate: number;
  /** loyalty cards of the customers who shop; @default 50 made-up cards */
  customers?: string[];
  /** 'founding': formula and beer for 110,000 KRW every time (the founding scenario); @default 'random' */
  basket?: 'random' | 'founding';
  /** stop after this many purchases (and a short wait for late offers); @default run until stopped */
  count?: number;
  /** @default 4 */
  tills?: number;
  natsUrl?: string;
  /** where lines go; @default console.log */
  print?: (line: string) => void;
  /** stops the run (Ctrl-C) */
  signal?: AbortSignal;
}

export interface TillReport {
  sent: number;
  accepted: number;
  rejected: number;
  retries: number;
  offers: OfferMessage[];
}

type Line = { sku: string; category: string; quantity: number; unitPrice: number; name: string };
const CATALOGUE: Array<Omit<Line, 'quantity'>> = [
  { sku: '880123', category: 'infant_formula', unitPrice: 32000, name: 'Infant formula 800 g' },
  { sku: '880555', category: 'beer', unitPrice: 4500, name: 'Lager 500 ml' },
  { sku: '880777', category: 'diapers', unitPrice: 19000, name: 'Diapers, size 4' },
  { sku: '881010', category: 'ramen', unitPrice: 4200, name: 'Ramen, 5-pack' },
  { sku: '881020', category: 'kimchi', unitPrice: 12900, name: 'Kimchi 1 kg' },
  { sku: '881030', category: 'milk', unitPrice: 2900, name: 'Milk 1 l' },
  { sku: '881040', category: 'fruit', unitPrice: 9900, name: 'Apples, 6' },
  { sku: '881050', category: 'soju', unitPrice: 1900, name: 'Soju 360 ml' },
  { sku: '881060', category: 'snacks', unitPrice: 1500, name: 'Crisps' },
  { sku: '881070', category: 'rice', unitPrice: 32000, name: 'Rice 10 kg' },
];
const FOUNDING: Line[] = [
  { ...CATALOGUE[0], quantity: 2 },
  { ...CATALOGUE[1], quantity: 6 },
  { ...CATALOGUE[2], quantity: 1 },
];

/** Local time in Seoul with its offset, as a till prints it: 2026-11-24T19:05:00+09:00. */
function seoulNow(): string {
  return `${new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 19)}+09:00`;
}

function randomBasket(): Line[] {
  const lines = new Map<string, Line>();
  for (let n = 1 + Math.floor(Math.random() * 5); n > 0; n--) {
    const item = CATALOGUE[Math.floor(Math.random() * CATALOGUE.length)];
    const line = lines.get(item.sku) ?? { ...item, quantity: 0 };
    line.quantity += 1 + Math.floor(Math.random() * 3);
    lines.set(item.sku, line);
  }
  return [...lines.values()];
}

export async function runTill(options: TillOptions): Promise<TillReport> {
  if (!isSubjectToken(options.store))
    throw new Error(`--store "${options.store}" must be 1-64 of [A-Za-z0-9_-]`);
  if (!(options.rate > 0)) throw new Error('--rate must be a positive number of purchases per second');
  const print = options.print ?? ((line: string) => console.log(line));
  const tills = options.tills ?? 4;
  const cards = options.customers?.length
    ? options.customers
    : Array.from({ length: 50 }, (_, i) => `LC-${options.store}-${String(i).padStart(3, '0')}`);
  const nc = await connect({
    ...adapterConnectionOptions('pos', options.natsUrl),
    name: `till-${options.store}`,
  });
  const report: TillReport = { sent: 0, accepted: 0, rejected: 0, retries: 0, offers: [] };
  const receipts = new Map<string, { till: number; card: string }>();

  // 3. Offers for this store, shown at the till whose receipt they answer.
  const offers = nc.subscribe(Subjects.offer('pos', options.store), {
    callback: (_error, msg) => {
      const offer = msg.json<OfferMessage>();
      report.offers.push(offer);
      const receipt = receipts.get(offer.eventId);
      print(
        `till ${receipt?.till ?? '?'}  OFFER for ${receipt?.card ?? offer.customerId}: ${offer.title} (worth ${offer.value.toLocaleString('en-US')} KRW, ${offer.campaignId}, decided in ${offer.latencyMs} ms)`,
      );
    },
  });

  const runTag = Date.now().toString(36);
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  try {
    for (let n = 0; options.count === undefined || n < options.count; n++) {
      if (options.signal?.aborted) break;
      // Paced by the clock, not by answers: a slow answer does not slow the other tills.
      const due = started + (n * 1000) / options.rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const till = 1 + (n % tills);
      const card = cards[Math.floor(Math.random() * cards.length)];
      const items = options.basket === 'founding' ? FOUNDING : randomBasket();
      const event = {
        id: `${options.store}-t${till}-${runTag}-${String(n).padStart(6, '0')}`,
        type: 'purchase',
        channel: 'pos',
        occurredAt: seoulNow(),
        customer: { loyaltyCard: card },
        storeId: options.store,
        payload: {
          amount: items.reduce((s, l) => s + l.quantity * l.unitPrice, 0),
          currency: 'KRW',
          items,
          receiptId: `R-${runTag}-${n}`,
        },
      };
      receipts.set(event.id, { till, card });
      if (receipts.size > 10_000) receipts.delete(receipts.keys().next().value!); // offers come within seconds
      const p = send(nc, event, report, print, till).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    if (options.count !== undefined) await new Promise((r) => setTimeout(r, 2_000)); // late offers
  } finally {
    offers.unsubscribe();
    await nc.drain();
  }
  print(
    `sent ${report.sent}, accepted ${report.accepted}, rejected ${report.rejected}, retried ${report.retries} times, offers ${report.offers.length}`,
  );
  return report;
}

/** 1–2: one purchase, retried with the same id until it is stored or refused. */
async function send(
  nc: NatsConnection,
  event: { id: string; payload: { amount: number } },
  report: TillReport,
  print: (line: string) => void,
  till: number,
) {
  report.sent++;
  for (let attempt = 1; ; attempt++) {
    let reply: IngestReply | undefined;
    try {
      reply = (
        await nc.request(Subjects.inbound('pos', 'purchase'), JSON.stringify(event), { timeout: 5_000 })
      ).json<IngestReply>();
    } catch {
      reply = undefined; // no answer: not known to be stored, so it is sent again
    }
    if (reply?.ok) {
      report.accepted++;
      print(
        `till ${till}  ${event.id}: ${event.payload.amount.toLocaleString('en-US')} KRW stored${reply.duplicate ? ' (already stored: a retry)' : ''}, customer ${reply.customerId}`,
      );
      return;
    }
    const retryable = reply?.error.code === 'UNAVAILABLE_RETRY' || reply?.error.code === 'OVERLOADED_RETRY';
    if (reply && !retryable) {
      report.rejected++;
      print(
        `till ${till}  ${event.id}: REFUSED ${reply.error.code} ${reply.error.details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
      );
      return;
    }
    report.retries++;
    // OVERLOADED_RETRY says when trying again is worth it; otherwise back off exponentially.
    const hintMs = reply && !reply.ok ? reply.error.retryAfterMs : undefined;
    await new Promise((r) => setTimeout(r, hintMs ?? Math.min(10_000, 200 * 2 ** attempt)));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      store: { type: 'string' },
      rate: { type: 'string', default: '1' },
      customers: { type: 'string' },
      basket: { type: 'string', default: 'random' },
      count: { type: 'string' },
      tills: { type: 'string', default: '4' },
    },
  });
  if (!values.store) {
    console.error(
      'usage: node dist/examples/till-simulator.js --store <storeId> [--rate 5] [--customers LC-1,LC-2] [--basket random|founding] [--count n]',
    );
    process.exit(2);
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  try {
    await runTill({
      store: values.store,
      rate: Number(values.rate),
      customers: values.customers?.split(',').filter(Boolean),
      basket: values.basket === 'founding' ? 'founding' : 'random',
      count: values.count === undefined ? undefined : Number(values.count),
      tills: Number(values.tills),
      signal: abort.signal,
    });
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
