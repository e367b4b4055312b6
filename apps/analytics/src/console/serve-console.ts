import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Logger, type INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';

type StaticOptions = Parameters<NestFastifyApplication['useStaticAssets']>[0];

/** where `npm run build` puts the console (vite: apps/console → dist/console) */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../../console/', import.meta.url));
/** the console's address on the analytics service */
export const CONSOLE_PATH = '/console/';

/**
 * Serves the built console as static files under /console/ (hashed assets, so they may be cached for
 * good; index.html is not cached). Without a build (a test that runs tsc alone) the service runs without it.
 */
export function serveConsole(app: INestApplication): void {
  const fastify = app as NestFastifyApplication;
  if (!existsSync(`${CONSOLE_DIR}index.html`)) {
    new Logger('console').warn(
      `no console build in ${CONSOLE_DIR} (npm run build makes it): /console/ is not served`,
    );
    return;
  }
  const cacheControl = (reply: FastifyReply, path: string) =>
    reply.header(
      'cache-control',
      path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
  fastify.useStaticAssets({
    root: CONSOLE_DIR,
    prefix: CONSOLE_PATH,
    // @fastify/static 10 hands setHeaders the Fastify reply; Nest's option type still describes a raw response.
    setHeaders: cacheControl as unknown as StaticOptions['setHeaders'],
  });
  fastify
    .getHttpAdapter()
    .getInstance()
    .get('/console', (_request, reply) => reply.redirect(CONSOLE_PATH));
}
