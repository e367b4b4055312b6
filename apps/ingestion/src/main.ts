// Telemetry first, before Nest and the drivers load.
import 'reflect-metadata';
import { loadConfig } from '@nunchi/config';
import { startTelemetry } from '@nunchi/telemetry/sdk';
import { bootOrExit, runService } from '@nunchi/telemetry/service';
import { MAX_BODY_BYTES } from './http-limits.js';

await bootOrExit(async () => {
  const config = loadConfig('ingestion');
  startTelemetry(config.telemetry);
  const { IngestionModule } = await import('./ingestion.module.js');
  const { connectMessaging } = await import('@nunchi/messaging');
  await runService(IngestionModule.forRoot(config), {
    name: 'ingestion',
    port: config.httpPort,
    host: config.httpHost,
    beforeInit: connectMessaging,
    timeouts: config.httpTimeouts,
    bodyAsBytes: true,
    bodyLimit: MAX_BODY_BYTES,
    openApi: {
      title: 'Nunchi ingestion',
      description: 'The HTTP door for channel adapters: POST /v1/events.',
    },
  });
});
