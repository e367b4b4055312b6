/** NatsTransport and NatsClient against the real NATS server, in a small Nest microservice. */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Logger, Module, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { loadConfig } from '@nunchi/config';
import { ContractError, Headers, Streams, Subjects } from '@nunchi/contracts/core';
import { IsInt, IsString, Min } from 'class-validator';
import { lastValueFrom } from 'rxjs';
import { decodeJson } from '../codec.js';
import { connectNats } from '../connection.js';
import { ConsumerRunner } from '../consumer-runner.js';
import { Outcome } from '../outcome.js';
import { Publisher } from '../publisher.js';
import { applyStreams } from '../streams.js';
import { onStream, onSubject, TransportBindingError } from './bindings.js';
import { JetStreamContext, NatsMessageContext } from './contexts.js';
import { MessagingSession } from './messaging-session.js';
import { MessageRecord, NatsClient } from './nats-client.js';
import { NatsTransport } from './nats-transport.js';
import { PartitionAssignments } from './partition-assignments.js';
import { MessageController } from './pipeline.js';

class GreetingDto {
  @IsString() name!: string;
  @IsInt() @Min(1) times!: number;
}

const run = `t${randomUUID().slice(0, 8)}`;
const STREAM = `TRANSPORT_${run}`;
const subjects = {
  greet: `mkt.test.${run}.greet`,
  stream: `mkt.test.${run}.s`,
};
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('NatsTransport (medium: real NATS, a Nest microservice)', () => {
  let nc: NatsConnection;
  let client: NatsClient;
  let session: MessagingSession;
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const apps: INestMicroservice[] = [];
  const seen: Array<{
    body: unknown;
    subject: string;
    deliveryCount: number;
    redelivered: boolean;
    header?: string;
  }> = [];
  let failOnce = true;

  @MessageController()
  class TestController {
    @MessagePattern(subjects.greet, onSubject({ queue: `q-${run}` }))
    greet(@Payload() greeting: GreetingDto, @Ctx() message: NatsMessageContext) {
      return { ok: true, text: `hello ${greeting.name} ×${greeting.times}`, on: message.subject };
    }

    @EventPattern<string>(
      `${subjects.stream}.>`,
      onStream({ stream: STREAM, group: `g-${run}`, stage: 'analytics', span: 'test.handle' }),
    )
    handle(@Payload() body: { action: string }, @Ctx() message: JetStreamContext): Outcome {
      seen.push({
        body,
        subject: message.subject,
        deliveryCount: message.deliveryCount,
        redelivered: message.redelivered,
        header: message.header('x-test'),
      });
      if (body.action === 'reject')
        throw new ContractError('VALIDATION_FAILED', [{ path: 'action', message: 'rejected on purpose' }]);
      if (body.action === 'fail' && failOnce) {
        failOnce = false;
        throw new Error('a passing failure');
      }
      return Outcome.done();
    }
  }

  async function start(controller: Type, consumes: string[] = []): Promise<INestMicroservice> {
    @Module({ controllers: [controller] })
    class TestModule {}
    const transport = new NatsTransport({
      nc,
      runner: new ConsumerRunner(nc, new Publisher(nc), quiet),
      assignments: new PartitionAssignments({ nc, partitions: 2, leaseTtlMs: 2_000 }),
      consumes,
      logger: quiet,
    });
    const app = await NestFactory.createMicroservice(TestModule, { strategy: transport, logger: false });
    apps.push(app);
    await app.listen();
    return app;
  }

  before(async () => {
    Logger.overrideLogger(false);
    nc = await connectNats(config.nats, 'nunchi-transport-test');
    await applyStreams(nc, config.nats);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: [`${subjects.stream}.>`] });
    client = new NatsClient(nc, new Publisher(nc));
    session = await MessagingSession.open(config.nats, 'nunchi-transport-test-session');
    await start(TestController);
  });

  after(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM).catch(() => undefined);
    await session?.close();
    await nc?.drain();
  });

  const ask = (payload: unknown) =>
    lastValueFrom(
      (client as unknown as { send(s: string, p: unknown): import('rxjs').Observable<unknown> }).send(
        subjects.greet,
        payload,
      ),
    );

  it('answers a request through the controller, with the message context', async () => {
    assert.deepEqual(await ask({ name: '민준', times: 2 }), {
      ok: true,
      text: 'hello 민준 ×2',
      on: subjects.greet,
    });
  });

  it('validates a DTO payload and answers with every problem by path, as the HTTP doors do', async () => {
    const reply = (await ask({ name: 7, times: 0, extra: true })) as {
      ok: boolean;
      error: { code: string; details: Array<{ path: string }> };
    };
    assert.equal(reply.ok, false);
    assert.equal(reply.error.code, 'VALIDATION_FAILED');
    assert.deepEqual(reply.error.details.map((d) => d.path).sort(), ['extra', 'name', 'times']);
  });

  it('answers a body that is not JSON with MALFORMED_JSON', async () => {
    const reply = (await ask(new MessageRecord(new TextEncoder().encode('{nope')))) as {
      error: { code: string };
    };
    assert.equal(reply.error.code, 'MALFORMED_JSON');
  });

  it('acknowledges, retries a thrown error with its delivery count, and dead-letters a contract error with its reason', async () => {
    await lastValueFrom(
      client.emit(
        `${subjects.stream}.a`,
        new MessageRecord({ action: 'ok' }, { headers: { 'x-test': 'kept' } }),
      ),
    );
    await lastValueFrom(client.emit(`${subjects.stream}.b`, { action: 'fail' }));
    await lastValueFrom(client.emit(`${subjects.stream}.c`, { action: 'reject' }));
    const deadline = Date.now() + 15_000;
    while (
      Date.now() < deadline &&
      seen.filter((s) => (s.body as { action: string }).action === 'fail').length < 2
    )
      await new Promise((r) => setTimeout(r, 50));
    const ok = seen.find((s) => (s.body as { action: string }).action === 'ok');
    assert.deepEqual(ok, {
      body: { action: 'ok' },
      subject: `${subjects.stream}.a`,
      deliveryCount: 1,
      redelivered: false,
      header: 'kept',
    });
    const fails = seen.filter((s) => (s.body as { action: string }).action === 'fail');
    assert.deepEqual(
      fails.map((f) => [f.deliveryCount, f.redelivered]),
      [
        [1, false],
        [2, true],
      ],
      'a thrown error is naked and delivered again',
    );
    let dead: { reason?: string; body?: unknown } | undefined;
    while (Date.now() < deadline && !dead) {
      const entries = await session.readStream(Streams.DLQ.name, Subjects.dlq('analytics'));
      const entry = entries.find((e) => e.header(Headers.dlqSubject) === `${subjects.stream}.c`);
      if (entry) dead = { reason: entry.header(Headers.dlqReason), body: decodeJson(entry.data) };
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(dead, 'the rejected message is in the DLQ');
    assert.match(dead.reason ?? '', /action: rejected on purpose/);
    assert.deepEqual(dead.body, { action: 'reject' });
    assert.equal(
      seen.filter((s) => (s.body as { action: string }).action === 'reject').length,
      1,
      'a rejected message is not retried',
    );
  });

  it('refuses to boot, naming the fix, when a consumed stream has no handler, a subject is not stored, or two handlers share one', async () => {
    @MessageController()
    class Empty {
      @MessagePattern(`mkt.test.${run}.nothing`)
      nothing(@Payload() _x: unknown) {
        return null;
      }
    }
    await assert.rejects(start(Empty, [Streams.EVENTS.name]), (e: Error) => {
      assert.ok(e instanceof TransportBindingError, String(e));
      assert.match(
        e.message,
        /consumes stream EVENTS, but no handler is bound to it: add a controller method with @EventPattern/,
      );
      return true;
    });

    @MessageController()
    class Elsewhere {
      @EventPattern(
        `mkt.test.${run}.elsewhere`,
        onStream({ stream: STREAM, group: 'x', stage: 'analytics', span: 'x' }),
      )
      x(@Payload() _x: unknown) {}
    }
    await assert.rejects(start(Elsewhere), /does not cover this subject/);

    @MessageController()
    class Twice {
      @EventPattern(
        `${subjects.stream}.>`,
        onStream({ stream: STREAM, group: 'y', stage: 'analytics', span: 'y' }),
      )
      a(@Payload() _x: unknown) {}
      @EventPattern(
        `${subjects.stream}.a`,
        onStream({ stream: STREAM, group: 'y', stage: 'analytics', span: 'y' }),
      )
      b(@Payload() _x: unknown) {}
    }
    await assert.rejects(start(Twice), /two handlers of group y share subjects of stream/);
  });
});
