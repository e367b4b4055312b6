import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@nunchi/config';
import { connectNats, NatsUnavailableError } from '@nunchi/messaging';
import { freePort, startNatsServer, type TestNatsServer } from '@nunchi/testing';

/**
 * TLS to NATS (docs/security.md, "NATS identities and permissions": NATS_TLS_CA_FILE with tls:// URLs), on a
 * nats-server of the test's own that takes TLS only, with a certificate openssl makes here: a process
 * configured with the server's CA connects, and the server itself reports the connection encrypted (its
 * monitoring port's /connz); a CA that did not sign the server's certificate, or no TLS configured at all,
 * stops the process at start with a message naming what to check.
 */
describe('NATS over TLS (own nats-server that takes TLS only)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-nats-tls-'));
  /** A self-signed certificate for 127.0.0.1 and localhost: [certificate file, key file]. */
  const certificate = (name: string): [string, string] => {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
        ...['-keyout', key, '-out', cert, '-subj', `/CN=${name}`],
        ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      ],
      { stdio: 'pipe' },
    );
    return [cert, key];
  };
  const [serverCert, serverKey] = certificate('nunchi-test-nats');
  const [otherCa] = certificate('someone-else');
  let server: TestNatsServer;
  let monitorPort: number;

  before(async () => {
    monitorPort = await freePort();
    server = await startNatsServer({
      config: [
        `tls { cert_file: "${serverCert}", key_file: "${serverKey}" }`,
        `http: "127.0.0.1:${monitorPort}"`,
        'jetstream { store_dir: "{{store}}" }',
      ].join('\n'),
    });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The suite's environment without its NATS identity (this server has no accounts), on this server. */
  const natsConfig = (extra: Record<string, string>) => {
    const env: Record<string, string | undefined> = { ...process.env };
    for (const key of Object.keys(env)) if (/^NATS_(USER|NKEY_SEED|PASSWORD|TLS)/.test(key)) delete env[key];
    return loadConfig('cli', {
      ...env,
      NATS_URL: `tls://127.0.0.1:${server.port}`,
      NUNCHI_NATS_AUTH_DIR: 'off',
      ...extra,
    }).nats;
  };

  it('NATS_TLS_CA_FILE: connects, and the server lists the connection as TLS', async () => {
    const nc = await connectNats(natsConfig({ NATS_TLS_CA_FILE: serverCert }), 'nunchi-test-tls');
    try {
      // a round trip through the server over the encrypted connection
      const sub = nc.subscribe('tls.check', { max: 1 });
      nc.publish('tls.check', 'hello');
      for await (const m of sub) assert.equal(m.string(), 'hello');
      const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as {
        connections?: { name?: string; tls_version?: string }[];
      };
      const mine = connz.connections?.find((c) => c.name === 'nunchi-test-tls');
      assert.ok(mine, `the server lists the connection (${JSON.stringify(connz.connections)})`);
      assert.match(mine.tls_version ?? '', /^1\.[23]$/, 'encrypted with TLS 1.2 or 1.3');
    } finally {
      await nc.close();
    }
  });

  it('a CA that did not sign the server certificate: refused at start, saying what to check', async () => {
    await assert.rejects(
      connectNats(natsConfig({ NATS_TLS_CA_FILE: otherCa }), 'nunchi-test-wrong-ca'),
      (error: Error) => {
        assert.ok(error instanceof NatsUnavailableError, error.message);
        assert.match(error.message, /certificate/i);
        assert.match(error.message, /NATS_TLS_CA_FILE/);
        return true;
      },
    );
  });

  it('no CA configured against a server that wants TLS: refused at start, saying what to check', async () => {
    await assert.rejects(connectNats(natsConfig({}), 'nunchi-test-no-tls'), (error: Error) => {
      assert.ok(error instanceof NatsUnavailableError, error.message);
      assert.match(error.message, /NATS_TLS_CA_FILE/);
      return true;
    });
  });
});
