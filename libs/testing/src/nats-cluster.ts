import { freePort, startNatsServer, type TestNatsServer } from './nats-server.js';

export interface TestNatsCluster {
  readonly servers: TestNatsServer[];
  /** every server's URL, comma-separated (NATS_URL) */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-servers on 127.0.0.1 (each with its own client and route ports and store),
 * for tests of what only a cluster does: replica groups, leaders lost and elected. Resolves once every server
 * listens; JetStream answers once the servers have elected a meta leader, a few seconds later.
 */
export async function startNatsCluster(size = 3): Promise<TestNatsCluster> {
  const routePorts: number[] = [];
  while (routePorts.length < size) {
    const port = await freePort();
    if (!routePorts.includes(port)) routePorts.push(port);
  }
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
  const servers: TestNatsServer[] = [];
  try {
    for (const [i, routePort] of routePorts.entries()) {
      servers.push(
        await startNatsServer({
          config: [
            `server_name: n${i + 1}`,
            'jetstream { store_dir: "{{store}}" }',
            `cluster { name: nunchi-test, listen: 127.0.0.1:${routePort}, routes: [${routes}] }`,
          ].join('\n'),
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return {
    servers,
    url: servers.map((s) => s.url).join(','),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
