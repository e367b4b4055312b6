// Telemetry first, before Nest and the drivers load.
import 'reflect-metadata';
import { loadConfig } from '@nunchi/config';
import { startTelemetry } from '@nunchi/telemetry/sdk';
import { bootOrExit, runService } from '@nunchi/telemetry/service';

await bootOrExit(async () => {
  const config = loadConfig('analytics');
  startTelemetry(config.telemetry);
  const { AnalyticsModule } = await import('./analytics.module.js');
  const { connectMessaging } = await import('@nunchi/messaging');
  const { serveConsole } = await import('./console/serve-console.js');
  await runService(AnalyticsModule.forRoot(config), {
    name: 'analytics',
    port: config.httpPort,
    host: config.httpHost,
    beforeInit: (app) => {
      connectMessaging(app);
      serveConsole(app);
    },
    timeouts: config.httpTimeouts,
    openApi: {
      title: 'Nunchi analytics',
      description:
        'Live campaign statistics with lift against the control group; the campaigns API: drafts, lifecycle, history, diff, dry runs and simulations; and the web console (/console/) with its own API.',
    },
  });
});
