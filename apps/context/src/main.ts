// Telemetry first, before Nest and the drivers load.
import 'reflect-metadata';
import { loadConfig } from '@nunchi/config';
import { startTelemetry } from '@nunchi/telemetry/sdk';
import { bootOrExit, runService } from '@nunchi/telemetry/service';

await bootOrExit(async () => {
  const config = loadConfig('context');
  startTelemetry(config.telemetry);
  const { ContextModule } = await import('./context.module.js');
  const { connectMessaging } = await import('@nunchi/messaging');
  await runService(ContextModule.forRoot(config), {
    name: 'context',
    port: config.httpPort,
    host: config.httpHost,
    beforeInit: connectMessaging,
    timeouts: config.httpTimeouts,
    openApi: { title: 'Nunchi context', description: "Customers' profiles and context snapshots." },
  });
});
