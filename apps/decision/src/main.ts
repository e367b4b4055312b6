// Telemetry first, before Nest and the drivers load.
import 'reflect-metadata';
import { loadConfig } from '@nunchi/config';
import { startTelemetry } from '@nunchi/telemetry/sdk';
import { bootOrExit, runService } from '@nunchi/telemetry/service';

await bootOrExit(async () => {
  const config = loadConfig('decision');
  startTelemetry(config.telemetry);
  const { DecisionModule } = await import('./decision.module.js');
  const { connectMessaging } = await import('@nunchi/messaging');
  await runService(DecisionModule.forRoot(config), {
    name: 'decision',
    port: config.httpPort,
    host: config.httpHost,
    beforeInit: connectMessaging,
    timeouts: config.httpTimeouts,
    openApi: {
      title: 'Nunchi decision',
      description: 'Decisions with explanations, and the loaded campaign set.',
    },
  });
});
