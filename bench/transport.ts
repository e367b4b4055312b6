/**
 * npm run bench:transport [-- --quick]
 *
 * What NestJS costs per message: the same JetStream messages consumed by a bare ConsumerRunner handler and
 * by a controller handler behind NatsTransport with the full message pipeline (validation pipe, exception
 * filter, metrics interceptor), in one process, against a NATS server of its own. Also the pipeline alone:
 * the Nest handler called directly, without NATS. Part of `npm run bench` (component "transport").
 */
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Logger, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { loadConfig } from '@nunchi/config';
import {
  ConsumerRunner,
  connectNats,
  encodeJson,
  JetStreamContext,
  MessageController,
  NatsTransport,
  onStream,
  Outcome,
  PartitionAssignments,
  Publisher,
  type Delivery,
} from '@nunchi/messaging';
import { startOwnNats } from '../tools/sandbox.js';
import { benchArgs } from './support.js';

export interface TransportBenchOptions {
  /** messages per consumer run; @default 30_000 */
  messages?: number;
  /** direct pipeline calls; @default 200_000 */
  calls?: number;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface ConsumerFigures {
  /** messages handled per second, wall clock */
  perSecond: number;
  /** this process's CPU (user + system) per message, microseconds: client decode, dispatch, ack */
  cpuUsPerMessage: number;
}

export interface TransportBenchResult {
  messages: number;
  bare: ConsumerFigures;
  nest: ConsumerFigures;
  /** the Nest handler (pipe, interceptor, filter, context) called directly, microseconds per call */
  pipelineUsPerCall: number;
  /** nest − bare CPU per message, microseconds */
  overheadUsPerMessage: number;
}

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
const CUSTOMERS = 2_000;

export async function runTransportBench(opts: TransportBenchOptions = {}): Promise<TransportBenchResult> {
  const log = opts.log ?? (() => undefined);
  const messages = opts.messages ?? 30_000;
  const calls = opts.calls ?? 200_000;
  const config = loadConfig('cli', { ...process.env, ...opts.env, OTEL_TRACES_EXPORTER: 'none' });
  const nc = await connectNats(config.nats, 'nunchi-bench-transport');
  const tag = `b${Date.now().toString(36)}`;
  const stream = `BENCH_TRANSPORT_${tag}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`mkt.bench.${tag}.>`] });
  Logger.overrideLogger(false);
  try {
    const bodies = Array.from({ length: messages }, (_, i) => encodeJson(sampleEvent(i)));
    const fill = async (subject: string) => {
      const publisher = new Publisher(nc);
      for (let i = 0; i < messages; i += 500)
        await Promise.all(
          bodies.slice(i, i + 500).map((b, k) => publisher.persistRaw(`${subject}.${(i + k) % 16}`, b)),
        );
    };
    let best: { bare?: ConsumerFigures; nest?: ConsumerFigures } = {};
    // Twice each, alternating, the better kept: the machine is shared with NATS and whatever else runs.
    for (const round of [1, 2]) {
      await fill(`mkt.bench.${tag}.bare${round}`);
      const bare = await consumeBare(nc, stream, `mkt.bench.${tag}.bare${round}.>`, `bare${round}`, messages);
      log(
        `transport: bare consumer, round ${round}: ${Math.round(bare.perSecond)} msg/s, ${bare.cpuUsPerMessage.toFixed(1)} µs CPU/msg`,
      );
      await fill(`mkt.bench.${tag}.nest${round}`);
      const nest = await consumeNest(nc, stream, `mkt.bench.${tag}.nest${round}.>`, `nest${round}`, messages);
      log(
        `transport: Nest controller, round ${round}: ${Math.round(nest.perSecond)} msg/s, ${nest.cpuUsPerMessage.toFixed(1)} µs CPU/msg`,
      );
      best = {
        bare: !best.bare || bare.cpuUsPerMessage < best.bare.cpuUsPerMessage ? bare : best.bare,
        nest: !best.nest || nest.cpuUsPerMessage < best.nest.cpuUsPerMessage ? nest : best.nest,
      };
    }
    const pipelineUsPerCall = await pipelineAlone(nc, stream, `mkt.bench.${tag}.direct.>`, calls);
    log(`transport: the Nest pipeline alone: ${pipelineUsPerCall.toFixed(2)} µs per call`);
    return {
      messages,
      bare: best.bare!,
      nest: best.nest!,
      pipelineUsPerCall,
      overheadUsPerMessage: best.nest!.cpuUsPerMessage - best.bare!.cpuUsPerMessage,
    };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.drain();
  }
}

function sampleEvent(i: number) {
  return {
    id: `e-${i}`,
    type: 'purchase',
    channel: 'pos',
    occurredAt: '2026-12-01T19:05:00+09:00',
    occurredAtMs: 1796119500000,
    receivedAtMs: 1796119500100,
    customerId: `c-${i % CUSTOMERS}`,
    storeId: 'bundang-01',
    payload: {
      amount: 123000,
      currency: 'KRW',
      items: [
        { sku: '880123', category: '분유', quantity: 2, unitPrice: 32000 },
        { sku: '880555', category: '맥주', quantity: 6, unitPrice: 4500 },
        { sku: '880777', category: 'diapers', quantity: 1, unitPrice: 32000 },
      ],
    },
  };
}

/** Runs until `messages` are handled; CPU and wall time from the consumer's start. */
async function measure(
  messages: number,
  start: (done: () => void) => Promise<() => Promise<void>>,
): Promise<ConsumerFigures> {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = await start(finish);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await stop();
  return { perSecond: messages / seconds, cpuUsPerMessage: (cpu.user + cpu.system) / messages };
}

async function consumeBare(
  nc: NatsConnection,
  stream: string,
  filter: string,
  durable: string,
  messages: number,
) {
  const runner = new ConsumerRunner(nc, new Publisher(nc), quiet);
  return measure(messages, async (done) => {
    let handled = 0;
    await runner.start<{ customerId: string }>({
      stream,
      durable,
      filterSubject: filter,
      spanName: 'bench.bare',
      stage: 'analytics',
      orderingKey: (e) => e.customerId,
      handler: () => {
        if (++handled === messages) done();
        return Promise.resolve(Outcome.done());
      },
    });
    return () => runner.stop();
  });
}

async function nestApp(
  nc: NatsConnection,
  stream: string,
  filter: string,
  group: string,
  onMessage: () => void,
): Promise<{ app: INestMicroservice; transport: NatsTransport }> {
  @MessageController()
  class BenchController {
    @EventPattern<string>(
      filter,
      onStream<{ customerId: string }>({
        stream,
        group,
        stage: 'analytics',
        span: 'bench.nest',
        orderingKey: (e) => e.customerId,
      }),
    )
    handle(@Ctx() message: JetStreamContext<{ customerId: string }>): Outcome {
      if (message.delivery.body.customerId) onMessage();
      return Outcome.done();
    }
  }
  @Module({ controllers: [BenchController] })
  class BenchModule {}
  const transport = new NatsTransport({
    nc,
    runner: new ConsumerRunner(nc, new Publisher(nc), quiet),
    assignments: new PartitionAssignments({ nc, partitions: 1, leaseTtlMs: 6_000 }),
    logger: quiet,
  });
  const app = await NestFactory.createMicroservice(BenchModule, { strategy: transport, logger: false });
  return { app, transport };
}

async function consumeNest(
  nc: NatsConnection,
  stream: string,
  filter: string,
  group: string,
  messages: number,
) {
  let handled = 0;
  let done = () => {};
  const { app } = await nestApp(nc, stream, filter, group, () => {
    if (++handled === messages) done();
  });
  // Nest's start-up (module scan, handler registration) is paid once per process, not per message.
  await app.init();
  return measure(messages, async (finish) => {
    done = finish;
    await app.listen();
    return () => app.close();
  });
}

/** The Nest handler called directly with a delivery: the pipeline's own cost, no NATS. */
async function pipelineAlone(
  nc: NatsConnection,
  stream: string,
  filter: string,
  calls: number,
): Promise<number> {
  const { app, transport } = await nestApp(nc, stream, filter, 'direct', () => undefined);
  await app.init();
  const handler = transport.getHandlerByPattern(filter);
  if (!handler) throw new Error('the bench handler is not registered');
  const delivery: Delivery<unknown> = {
    body: sampleEvent(1),
    subject: filter,
    seq: 1,
    deliveryCount: 1,
    redelivered: false,
    header: () => undefined,
  };
  const once = async () => {
    const result: unknown = await handler(delivery.body, new JetStreamContext([delivery]));
    if (result && typeof (result as { subscribe?: unknown }).subscribe === 'function')
      await new Promise<void>((resolve, reject) =>
        (result as { subscribe(o: object): void }).subscribe({ complete: resolve, error: reject }),
      );
  };
  for (let i = 0; i < 10_000; i++) await once(); // warm up
  const t0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await once();
  const cpu = process.cpuUsage(t0);
  await app.close();
  return (cpu.user + cpu.system) / calls;
}

export function formatTransportBench(r: TransportBenchResult): string {
  return [
    `Transport — ${r.messages.toLocaleString()} JetStream messages per consumer, one process (CPU of the consuming process)`,
    '',
    '| consumer | messages/s | CPU per message |',
    '|:--|--:|--:|',
    `| bare ConsumerRunner handler | ${Math.round(r.bare.perSecond).toLocaleString()} | ${r.bare.cpuUsPerMessage.toFixed(1)} µs |`,
    `| Nest controller via NatsTransport (pipe, filter, interceptor) | ${Math.round(r.nest.perSecond).toLocaleString()} | ${r.nest.cpuUsPerMessage.toFixed(1)} µs |`,
    '',
    `Nest pipeline overhead: ${r.overheadUsPerMessage.toFixed(1)} µs per message through NATS; ${r.pipelineUsPerCall.toFixed(2)} µs per call measured alone.`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { flags } = benchArgs(
    'usage: node dist/bench/transport.js [--quick]\n  --quick  fewer messages (a smoke run)',
    {
      quick: 'flag',
    },
  );
  const quick = flags['quick'] === true;
  const nats = await startOwnNats(14295, (l) => console.error(l));
  try {
    const result = await runTransportBench({
      log: (l) => console.error(l),
      env: { NATS_URL: nats.url },
      ...(quick ? { messages: 5_000, calls: 30_000 } : {}),
    });
    console.log(formatTransportBench(result));
  } finally {
    nats.stop();
  }
  process.exit(0);
}
