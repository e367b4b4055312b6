/**
 * Ingestion benchmark: accepted-and-stored events per second, and acknowledgement latency, for ONE
 * ingestion process on this machine.
 *
 *   npm run bench:ingestion                      (builds first; ~1 minute)
 *   node dist/bench/ingestion.js --quick         (smaller, for a smoke test)
 *   node dist/bench/ingestion.js --json          (also prints the figures as JSON)
 *
 * It starts the ingestion service alone as a child process (tools/services.ts, exactly as deployed) against
 * the NATS server of NATS_URL and the Cassandra of CASSANDRA_*, then for each door and identifier kind sends
 * a fixed number of valid purchases with bounded concurrency and times every acknowledgement:
 *
 *   - NATS door: request on mkt.in.pos.purchase; acknowledged = the reply {"ok":true} (sent only after
 *     JetStream stored the event).
 *   - HTTP door: POST /v1/events, one event per request, keep-alive connections; and batches of 100.
 *   - customer.id (no identity look-up), and loyaltyCard (resolved through `identities`; a warm-up pass,
 *     not measured, makes every card known first, so the measured pass is the steady state of a running
 *     service: the card → customer mapping is cached after its first look-up).
 *
 * Every reply is checked: a run counts only events answered ok, and fails loudly on any other answer.
 * Spans are created as in production; exporting them is off by default (OTEL_TRACES_EXPORTER=none, so a
 * shared trace backend is not flooded): pass --traces to export them to the configured backend.
 * The client runs in this process, on the same machine: its CPU is part of the picture (see the notes printed).
 *
 * runIngestionBench(opts) returns the figures as an object for the benchmark harness.
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import { connectNats, decodeJson, applyStreams } from '@nunchi/messaging';
import { startServices } from '../tools/services.js';
import { localAuthorization } from '../tools/local-admin.js';
import { developmentModeUnlessConfigured } from '../tools/dev-mode.js';
import { benchArgs } from './support.js';

export type Door = 'nats' | 'http' | 'http-batch';
export type IdentifierKind = 'id' | 'loyaltyCard';

export interface IngestionBenchOptions {
  /** events per measured run; @default 60_000 */
  events?: number;
  /** requests in flight per run; @default 512 (NATS), 64 (HTTP) */
  concurrency?: Partial<Record<Door, number>>;
  /** distinct customers the events are spread over; @default 20_000 */
  customers?: number;
  /** events per POST in the http-batch runs; @default 100 */
  batchSize?: number;
  /** which runs; @default every door × both identifier kinds (http-batch with id only) */
  runs?: Array<{ door: Door; identifier: IdentifierKind }>;
  /** environment for the ingestion process (NATS_URL, CASSANDRA_*, ports); @default process.env */
  env?: Record<string, string | undefined>;
  /** export spans to the configured backend; @default false */
  traces?: boolean;
  /** progress lines; @default none */
  log?: (line: string) => void;
}

export interface RunFigures {
  door: Door;
  identifier: IdentifierKind;
  /** events answered ok (stored in EVENTS) */
  events: number;
  seconds: number;
  eventsPerSec: number;
  /** acknowledgement latency of one request (a whole batch for http-batch), milliseconds */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  concurrency: number;
  /** CPU time of the ingestion process per event, microseconds */
  serviceCpuUsPerEvent: number;
  /** CPU time of this (client) process per event, microseconds */
  clientCpuUsPerEvent: number;
  /** share of the machine's CPU time that was busy during the run, 0-1 (all processes) */
  machineBusy: number;
}

export interface IngestionBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  partitions: number;
  runs: RunFigures[];
  /** EVENTS messages added during the measured runs ÷ events answered ok: must be 1 */
  storedPerAccepted: number;
}

const DEFAULT_RUNS: Array<{ door: Door; identifier: IdentifierKind }> = [
  { door: 'nats', identifier: 'id' },
  { door: 'nats', identifier: 'loyaltyCard' },
  { door: 'http', identifier: 'id' },
  { door: 'http', identifier: 'loyaltyCard' },
  { door: 'http-batch', identifier: 'id' },
];

export async function runIngestionBench(opts: IngestionBenchOptions = {}): Promise<IngestionBenchResult> {
  developmentModeUnlessConfigured((line) => (opts.log ?? console.log)(line));
  const log = opts.log ?? (() => undefined);
  const total = opts.events ?? 60_000;
  const customers = opts.customers ?? 20_000;
  const batchSize = opts.batchSize ?? 100;
  const env = {
    // The adapters' rate limit stays on (its cost is measured) but far above what one process can take.
    NUNCHI_ADAPTER_RATE_PER_SECOND: '1000000',
    ...process.env,
    ...opts.env,
    ...(opts.traces ? {} : { OTEL_TRACES_EXPORTER: 'none' }),
  };
  const config = loadConfig('cli', { ...env, OTEL_TRACES_EXPORTER: 'none' });
  const runTag = Date.now().toString(36);

  const nc = await connectNats(config.nats, 'nunchi-bench');
  await applyStreams(nc, config.nats);
  const serviceLog: string[] = [];
  log(`starting the ingestion service against ${config.nats.url} (keyspace ${config.cassandra.keyspace})`);
  const services = await startServices({
    services: ['ingestion'],
    env,
    log: (_s, line) => void serviceLog.push(line),
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${serviceLog.slice(-30).join('\n')}`);
  });
  const url = `${services.urls.ingestion}/v1/events`;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const requester = natsRequester(nc, Subjects.inbound('pos', 'purchase'));
  try {
    const runs: RunFigures[] = [];
    const storedBefore = await eventsStored(nc);
    let accepted = 0;
    for (const { door, identifier } of opts.runs ?? DEFAULT_RUNS) {
      const concurrency = opts.concurrency?.[door] ?? (door === 'nats' ? 512 : 64);
      const prefix = `b${runTag}-${door}-${identifier}`;
      const make = eventMaker(prefix, identifier, customers, runTag);
      const send =
        door === 'nats' ? requester.send : door === 'http' ? httpSender(url, agent) : batchSender(url, agent);
      const per = door === 'http-batch' ? batchSize : 1;
      // Bodies are encoded before the clock starts: the figures are the service's, not the client's JSON work.
      const bodies = (count: number, key: (k: number) => string, customerOf: (k: number) => number) =>
        range(0, Math.ceil(count / per)).map((i) => {
          const events = range(i * per, Math.min(count, (i + 1) * per)).map((k) =>
            make(customerOf(k), key(k)),
          );
          return Buffer.from(JSON.stringify(per === 1 ? events[0] : events));
        });
      if (identifier === 'loyaltyCard') {
        log(
          `${door} / loyaltyCard: warm-up, one event per card (${customers.toLocaleString('en-US')}), not measured`,
        );
        accepted += (
          await drive(
            bodies(
              customers,
              (k) => `w${k}`,
              (k) => k,
            ),
            concurrency,
            send,
          )
        ).ok;
      }
      // A short warm-up of the JIT and connections, then the measured run.
      accepted += (
        await drive(
          bodies(
            2_000,
            (k) => `j${k}`,
            (k) => k,
          ),
          concurrency,
          send,
        )
      ).ok;
      const measured = bodies(
        total,
        (k) => `m${k}`,
        (k) => k,
      );
      log(
        `${door} / ${identifier}: ${total.toLocaleString('en-US')} events, ${concurrency} requests in flight${per > 1 ? `, ${per} per request` : ''}`,
      );
      const cpuBefore = cpuSnapshot(services.pids.ingestion);
      const started = process.hrtime.bigint();
      const result = await drive(measured, concurrency, send);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = cpuDelta(cpuBefore, cpuSnapshot(services.pids.ingestion));
      accepted += result.ok;
      const sorted = Float64Array.from(result.latenciesMs).sort();
      runs.push({
        door,
        identifier,
        events: result.ok,
        seconds,
        eventsPerSec: result.ok / seconds,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        maxMs: sorted[sorted.length - 1] ?? 0,
        concurrency,
        serviceCpuUsPerEvent: (cpu.serviceSeconds * 1e6) / result.ok,
        clientCpuUsPerEvent: (cpu.clientSeconds * 1e6) / result.ok,
        machineBusy: cpu.machineBusy,
      });
      log(`  ${Math.round(result.ok / seconds).toLocaleString('en-US')} events/s`);
    }
    const stored = (await eventsStored(nc)) - storedBefore;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      partitions: config.nats.partitions,
      runs,
      storedPerAccepted: stored / accepted,
    };
  } finally {
    requester.close();
    agent.destroy();
    await services.stop();
    await nc.drain();
  }
}

/** A purchase of one of `customers` customers; key makes the id unique within the run. */
function eventMaker(prefix: string, identifier: IdentifierKind, customers: number, tag: string) {
  const occurredAt = new Date(Date.now() - 60_000).toISOString();
  return (n: number, key: string) => {
    const c = n % customers;
    return {
      id: `${prefix}-${key}`,
      type: 'purchase',
      channel: 'pos',
      occurredAt,
      customer: identifier === 'id' ? { id: `bc-${tag}-${c}` } : { loyaltyCard: `BLC-${tag}-${c}` },
      storeId: `store-${c % 200}`,
      payload: {
        amount: 110000,
        currency: 'KRW',
        items: [
          { sku: '880123', category: 'infant_formula', quantity: 2, unitPrice: 32000 },
          { sku: '880555', category: 'beer', quantity: 6, unitPrice: 4500 },
          { sku: '880777', category: 'diapers', quantity: 1, unitPrice: 19000 },
        ],
      },
    };
  };
}

/** Sends one request body (one event, or a batch); resolves with the answer for each event in it. */
type Sender = (body: Buffer) => Promise<IngestReply[]>;

/**
 * Requests on one subject with one reply subscription: nats.js's request() builds a timer and an Error per
 * call, and this client shares the machine's CPUs with the service it measures.
 */
function natsRequester(nc: NatsConnection, subject: string): { send: Sender; close(): void } {
  const prefix = `${createInbox()}.`;
  const pending = new Map<
    number,
    { resolve(r: IngestReply[]): void; reject(e: Error): void; deadline: number }
  >();
  let next = 0;
  const sub = nc.subscribe(`${prefix}*`, {
    callback: (_error, msg) => {
      const token = Number(msg.subject.slice(prefix.length));
      const entry = pending.get(token);
      if (!entry) return;
      pending.delete(token);
      entry.resolve([decodeJson(msg.data) as IngestReply]);
    },
  });
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [token, entry] of pending) {
      if (entry.deadline > now) break; // deadlines are in insertion order
      pending.delete(token);
      entry.reject(new Error('no answer within 30 s'));
    }
  }, 1_000);
  return {
    send: (body) =>
      new Promise((resolve, reject) => {
        const token = ++next;
        pending.set(token, { resolve, reject, deadline: Date.now() + 30_000 });
        nc.publish(subject, body, { reply: `${prefix}${token}` });
      }),
    close() {
      clearInterval(sweeper);
      sub.unsubscribe();
    },
  };
}

function httpSender(url: string, agent: Agent): Sender {
  return async (body) => [(await post(url, agent, body)) as IngestReply];
}

function batchSender(url: string, agent: Agent): Sender {
  return async (body) => ((await post(url, agent, body)) as { results: IngestReply[] }).results;
}

function post(url: string, agent: Agent, body: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        // the local admin key (tools/local-admin.ts): the door checks it like an adapter's, from its cache
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          authorization: localAuthorization(url) ?? '',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends every body with at most `concurrency` in flight; every answer must be ok. */
async function drive(
  bodies: Buffer[],
  concurrency: number,
  send: Sender,
): Promise<{ ok: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      const replies = await send(bodies[i]);
      latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      for (const reply of replies) {
        if (!reply.ok) throw new Error(`request ${i} was refused: ${JSON.stringify(reply)}`);
        ok++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker));
  return { ok, latenciesMs };
}

async function eventsStored(nc: NatsConnection): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(Streams.EVENTS.name)).state.messages;
}

interface CpuSnapshot {
  /** seconds of CPU time */
  service: number;
  client: number;
  machineBusy: number;
  machineTotal: number;
}

/** CPU time from /proc (Linux): the service process, this process, and the whole machine. */
function cpuSnapshot(servicePid: number | undefined): CpuSnapshot {
  const tick = 100; // USER_HZ: 100 on every Linux this runs on
  let service = NaN;
  let machineBusy = NaN;
  let machineTotal = NaN;
  try {
    const fields = readFileSync(`/proc/${servicePid}/stat`, 'utf8').split(') ')[1].split(' ');
    service = (Number(fields[11]) + Number(fields[12])) / tick;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    machineTotal = cpu.reduce((a, b) => a + b, 0) / tick;
    machineBusy = machineTotal - (cpu[3] + cpu[4]) / tick;
  } catch {
    // not Linux: the CPU columns stay empty
  }
  const usage = process.cpuUsage();
  return { service, client: (usage.user + usage.system) / 1e6, machineBusy, machineTotal };
}

function cpuDelta(a: CpuSnapshot, b: CpuSnapshot) {
  return {
    serviceSeconds: b.service - a.service,
    clientSeconds: b.client - a.client,
    machineBusy: (b.machineBusy - a.machineBusy) / (b.machineTotal - a.machineTotal),
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
const quantile = (sorted: Float64Array, q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;

export function formatIngestionBench(r: IngestionBenchResult): string {
  const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
  const f2 = (x: number) => x.toFixed(2);
  const door = (d: Door) =>
    d === 'nats' ? 'NATS request' : d === 'http' ? 'HTTP, 1 event/POST' : 'HTTP, batch/POST';
  const rows = [
    [
      'door',
      'customer by',
      'in flight',
      'events',
      'events/s',
      'ack p50 ms',
      'ack p99 ms',
      'ack max ms',
      'service CPU µs/event',
      'client CPU µs/event',
      'machine busy',
    ],
    ...r.runs.map((x) => [
      door(x.door),
      x.identifier,
      String(x.concurrency),
      f0(x.events),
      f0(x.eventsPerSec),
      f2(x.p50Ms),
      f2(x.p99Ms),
      f2(x.maxMs),
      f0(x.serviceCpuUsPerEvent),
      f0(x.clientCpuUsPerEvent),
      `${f0(x.machineBusy * 100)} %`,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    `Ingestion — one process, ${r.partitions} partitions, Node ${r.node}, ${r.cpus} × ${r.cpuModel}`,
    '',
    line(rows[0]),
    `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.slice(1).map(line),
    '',
    `Accepted = answered {"ok":true}, which ingestion sends only after JetStream stored the event; EVENTS grew by ${r.storedPerAccepted.toFixed(3)} message per accepted event.`,
    'Latency: one request (a whole batch for HTTP batches), from send to answer, client-side. The client, the',
    'NATS server and the service share this machine\u2019s CPUs.',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { flags } = benchArgs(
    'usage: node dist/bench/ingestion.js [--quick] [--json] [--traces]\n  --quick   fewer events and customers (a smoke run)\n  --json    also print the figures as JSON\n  --traces  with tracing on (exported to the trace backend)',
    { quick: 'flag', json: 'flag', traces: 'flag' },
  );
  const quick = flags['quick'] === true;
  const result = await runIngestionBench({
    log: (l) => console.error(l),
    traces: flags['traces'] === true,
    ...(quick ? { events: 5_000, customers: 2_000 } : {}),
  });
  console.log(formatIngestionBench(result));
  if (flags['json']) console.log(JSON.stringify(result, null, 2));
}
