/**
 * The HTTP servers' time limits (runService with config.httpTimeouts) on a real Fastify server: a client
 * that sends its request too slowly is cut off, a handler that does not answer in time gets the caller a
 * 503 in the API's error shape, and a kept-alive connection that idles is closed.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { HttpErrorFilter } from './http-error.filter.js';
import { runService } from './bootstrap.js';

@Controller()
class SlowController {
  @Get('slow')
  async slow(): Promise<{ ok: true }> {
    await new Promise((r) => setTimeout(r, 1_500));
    return { ok: true };
  }
  @Get('fast')
  fast(): { ok: true } {
    return { ok: true };
  }
}

@Module({
  controllers: [SlowController],
  providers: [{ provide: APP_FILTER, useValue: new HttpErrorFilter() }],
})
class SlowModule {}

/** Writes `chunks` to a raw socket with `gapMs` between them; resolves with what the server sent and when it closed. */
function rawExchange(
  port: number,
  chunks: string[],
  gapMs: number,
): Promise<{ reply: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, closedAfterMs: Date.now() - started });
    });
    let i = 0;
    const next = () => {
      if (i >= chunks.length || socket.destroyed) return;
      socket.write(chunks[i++]);
      timer = setTimeout(next, gapMs);
    };
    socket.on('connect', next);
  });
}

describe('HTTP time limits (runService)', () => {
  let app: INestApplication;
  let port: number;

  before(async () => {
    app = await runService(SlowModule, {
      name: 'timeouts-test',
      port: 0,
      host: '127.0.0.1',
      timeouts: { requestMs: 400, handlerMs: 300, keepAliveMs: 500 },
    });
    const server = app.getHttpServer() as Server;
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await app?.close();
  });

  it('cuts off a client that sends its request too slowly (slowloris)', async () => {
    // one header line every 150 ms, never finishing: the whole request has 400 ms
    const chunks = ['GET /fast HTTP/1.1\r\n', ...Array.from({ length: 30 }, (_, i) => `X-Drip-${i}: 1\r\n`)];
    const { reply, closedAfterMs } = await rawExchange(port, chunks, 150);
    assert.ok(closedAfterMs < 3_000, `closed after ${closedAfterMs} ms`);
    assert.match(reply, /^HTTP\/1\.1 408/);
  });

  it('answers 503 in the API error shape when a handler does not answer in time', async () => {
    const started = Date.now();
    const response = await fetch(`http://127.0.0.1:${port}/slow`);
    assert.equal(response.status, 503);
    assert.ok(Date.now() - started < 1_400, 'answered before the handler finished');
    const body = (await response.json()) as { ok: boolean; error: { code: string } };
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'UNAVAILABLE_RETRY');
  });

  it('closes an idle kept-alive connection, and serves one that keeps asking', async () => {
    const request = 'GET /fast HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n';
    const { reply, closedAfterMs } = await rawExchange(port, [request], 10_000);
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.ok(closedAfterMs >= 400 && closedAfterMs < 3_000, `closed after ${closedAfterMs} ms`);
  });
});
