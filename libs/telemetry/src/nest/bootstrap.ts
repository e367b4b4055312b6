import { Logger, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { HttpTimeouts } from '@nunchi/config';

export interface ServiceOptions {
  name: string;
  port: number;
  host: string;
  /** largest HTTP body accepted, bytes; @default 1 MiB */
  bodyLimit?: number;
  /** keep request.rawBody (the bytes as received) for JSON bodies */
  rawBody?: boolean;
  /**
   * No framework body parsing: every request body, whatever its content type, reaches the handler as the
   * Buffer received (within bodyLimit). For a service that must judge and keep malformed bodies itself.
   */
  bodyAsBytes?: boolean;
  /** how long a request may take to arrive, to be answered, and a kept-alive connection may idle */
  timeouts: HttpTimeouts;
  /** serve OpenAPI docs at /docs */
  openApi?: { title: string; description: string };
  /** connect transports before the app initialises (libs/messaging connectMessaging): they start after it */
  beforeInit?: (app: INestApplication) => void;
}

/** Creates the Nest app on Fastify, serves health/metrics, listens, and shuts down cleanly on SIGTERM/SIGINT. */
export async function runService(
  module: Type<unknown> | DynamicModule,
  options: ServiceOptions,
): Promise<INestApplication> {
  const bodyLimit = options.bodyLimit ?? 1_048_576;
  const { timeouts } = options;
  const adapter = new FastifyAdapter({
    bodyLimit,
    // A slow sender (slowloris) is cut off with 408; headers must arrive within the same time.
    requestTimeout: timeouts.requestMs,
    // Node checks those limits every connectionsCheckingInterval (30 s by default): check often enough to matter.
    http: {
      headersTimeout: timeouts.requestMs,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(timeouts.requestMs / 4)),
    },
    handlerTimeout: timeouts.handlerMs,
    keepAliveTimeout: timeouts.keepAliveMs,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    bufferLogs: false,
    abortOnError: false,
    rawBody: options.rawBody ?? false,
    bodyParser: !options.bodyAsBytes,
  });
  if (options.bodyAsBytes) {
    const fastify = app.getHttpAdapter().getInstance();
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
      done(null, body),
    );
  }
  app.enableShutdownHooks();
  if (options.openApi) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle(options.openApi.title)
        .setDescription(options.openApi.description)
        .setVersion('1')
        .build(),
    );
    SwaggerModule.setup('docs', app, document);
  }
  if (options.beforeInit) {
    options.beforeInit(app);
    // Providers first (campaigns loaded, caches ready), then messages, then HTTP.
    await app.init();
    await app.startAllMicroservices();
  }
  await app.listen(options.port, options.host);
  new Logger(options.name).log(`${options.name} listening on http://${options.host}:${options.port}`);
  return app;
}

/**
 * Runs a service's start-up; a known start-up failure (bad config, unreachable dependency) ends the process
 * with its message and exit code 1 instead of a stack trace.
 */
export async function bootOrExit(start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (error) {
    const known = [
      'TransportBindingError',
      'ConfigError',
      'NatsUnavailableError',
      'CassandraUnavailableError',
      'CassandraAuthError',
      'StreamLayoutError',
      'MigrationError',
    ];
    const e = error as Error;
    process.stderr.write(known.includes(e.name) ? `${e.message}\n` : `${e.stack ?? String(e)}\n`);
    process.exit(1);
  }
}
