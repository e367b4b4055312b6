import { migrate } from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';
import { developmentModeUnlessConfigured } from './dev-mode.js';
import { ensureInfra } from './infra.js';
import { startServices } from './services.js';
import { LOCAL_ADMIN_KEY_FILE } from './local-admin.js';
import { Resources } from '../apps/cli/src/resources.js';
import { applyStreamLayout, formatLayout } from '../apps/cli/src/commands/streams.js';

/** npm start: infrastructure if needed, migrations, then the four services in the foreground until Ctrl-C. */
async function main(): Promise<void> {
  developmentModeUnlessConfigured((line) => console.log(`start     ${line}`));
  await ensureInfra((line) => console.log(`infra     ${line}`));
  const config = loadConfig('cli');
  const report = await migrate(
    config.cassandra,
    projectPath('cql'),
    (line) => console.log(`migrate   ${line}`),
    { identityKey: config.domain.identityKey },
  );
  console.log(`migrate   ${report.applied.length} applied, ${report.skipped.length} already applied`);
  // The streams too, as `nunchi migrate` does: services only check them at start.
  const resources = new Resources();
  try {
    for (const line of formatLayout(await applyStreamLayout(resources)))
      console.log(`migrate   stream ${line}`);
  } finally {
    await resources.close();
  }
  const services = await startServices();
  if (services.adminKey)
    console.log(
      `start     development mode: a local admin API key is in ${LOCAL_ADMIN_KEY_FILE} — curl -H "Authorization: Bearer $(cat ${LOCAL_ADMIN_KEY_FILE})" …; the console (${services.urls.analytics}/console/) logs in with it`,
    );
  console.log(
    `all four services ready: ${Object.entries(services.urls)
      .map(([n, u]) => `${n} ${u}`)
      .join(', ')}. Ctrl-C stops them.`,
  );
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await services.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  const crashed = await services.crashed;
  console.error(`${crashed} stopped; stopping the others`);
  await stop(1);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
