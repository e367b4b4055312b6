import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (Cassandra, say) that a test can break the way a dependency breaks,
 * without touching the server itself (it may be shared):
 * - freeze(): connections stay open and nothing passes, like a server stopped with SIGSTOP (the client times out);
 * - cut(): every connection is reset and new ones are refused, like a server that died;
 * - heal(): back to normal.
 */
export class TcpFaultProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private server: Server | undefined;
  private frozen = false;

  private constructor(
    private readonly target: { host: string; port: number },
    readonly host: string,
    public port: number,
  ) {}

  static async start(target: { host: string; port: number }, host = '127.0.0.1'): Promise<TcpFaultProxy> {
    const proxy = new TcpFaultProxy(target, host, 0);
    await proxy.listen();
    return proxy;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  freeze(): void {
    this.frozen = true;
    for (const pair of this.pairs) stall(pair);
  }

  async cut(): Promise<void> {
    this.frozen = false;
    const server = this.server;
    this.server = undefined;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async heal(): Promise<void> {
    this.frozen = false;
    for (const pair of this.pairs) flow(pair);
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    await this.cut();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      if (this.frozen) stall(pair);
      else flow(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      for (const s of pair) {
        s.on('error', close);
        s.on('close', close);
      }
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // The same port after a cut, so that clients reconnect to the address they know.
      server.listen(this.port, this.host, () => {
        const address = server.address();
        if (typeof address === 'object' && address) this.port = address.port;
        resolve();
      });
    });
  }
}

/** Nothing passes either way (unpiped and paused: a pipe would resume its source on 'drain'). */
function stall([a, b]: [Socket, Socket]): void {
  a.unpipe(b);
  b.unpipe(a);
  a.pause();
  b.pause();
}

function flow([a, b]: [Socket, Socket]): void {
  a.pipe(b);
  b.pipe(a);
}
