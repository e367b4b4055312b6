import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Logger, type INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

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
    new Logger('console').warn(`no console build in ${CONSOLE_DIR} (npm run build makes it): /console/ is not served`);
    return;
  }
  fastify.useStaticAssets({
    root: CONSOLE_DIR,
    prefix: CONSOLE_PATH,
    setHeaders: (res: { setHeader(name: string, value: string): void }, path: string) =>
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  fastify.getHttpAdapter().getInstance().get('/console', (_request, reply) => reply.redirect(CONSOLE_PATH));
}
