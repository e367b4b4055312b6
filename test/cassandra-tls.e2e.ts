import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { after, describe, it } from 'node:test';
import { CassandraUnavailableError, connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type CassandraConfig } from '@nunchi/config';

/**
 * Client-to-node TLS (docs/security.md, "Cassandra roles": credentials and TLS), against the suite's real node:
 * scripts/infra.mjs starts it with a certificate of its own and `client_encryption_options` optional, so it
 * takes TLS beside the plain connections the services use here. The configuration a deployment sets
 * (CASSANDRA_TLS_CA_FILE, CASSANDRA_TLS_VERIFY_HOSTNAME) must give an encrypted connection — as the node itself
 * reports it (system_views.clients) — and a certificate the CA did not sign must be refused with a clear error.
 */
const caFile = process.env['NUNCHI_TEST_CASSANDRA_TLS_CA'];
const skip =
  caFile === undefined
    ? "the suite's Cassandra was not started by this checkout (scripts/infra.mjs): whether it takes TLS is not known"
    : false;

describe('Cassandra client-to-node TLS, on the real node', { skip }, () => {
  const env = { ...process.env, OTEL_TRACES_EXPORTER: 'none' };
  const clients: CqlClient[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'nunchi-cassandra-tls-'));
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    rmSync(scratch, { recursive: true, force: true });
  });

  const config = (extra: Record<string, string>): CassandraConfig =>
    loadConfig('cli', { ...env, ...extra }).cassandra;
  const connect = async (cassandra: CassandraConfig, applicationName: string) => {
    const client = await connectCassandra(cassandra, { keyspace: false, applicationName });
    clients.push(client);
    return client;
  };
  /** What the node says of the connections of one application: TLS or not, and the protocol. */
  const connectionsOf = async (client: CqlClient, applicationName: string) => {
    const rows = (
      await client.execute('SELECT client_options, ssl_enabled, ssl_protocol FROM system_views.clients')
    ).rows.filter(
      (r) => (r['client_options'] as Record<string, string> | null)?.['APPLICATION_NAME'] === applicationName,
    );
    return rows.map((r) => ({
      tls: r['ssl_enabled'] as boolean,
      protocol: r['ssl_protocol'] as string | null,
    }));
  };

  it('CASSANDRA_TLS_CA_FILE gives connections the node reports encrypted, and verifies the host name', async () => {
    const cassandra = config({ CASSANDRA_TLS_CA_FILE: caFile! });
    assert.equal(cassandra.tls?.verifyHostname, true, 'host names verified by default');
    let client: CqlClient;
    try {
      client = await connect(cassandra, 'nunchi-test-tls');
    } catch (error) {
      assert.fail(
        `no TLS connection to the suite's node (${(error as Error).message}). A node started before scripts/infra.mjs made it take TLS goes on without it: npm run infra:down -- --only cassandra && npm run infra:up`,
      );
    }
    const seen = await connectionsOf(client, 'nunchi-test-tls');
    assert.ok(seen.length > 0, "the node lists this client's connections");
    for (const c of seen) {
      assert.equal(c.tls, true, 'every connection of the TLS client is encrypted');
      assert.match(c.protocol ?? '', /^TLSv1\.[23]$/);
    }
  });

  it('a plain client on the same node stays plain (TLS is optional on the local node, so the check above can fail)', async () => {
    const client = await connect(config({}), 'nunchi-test-plain');
    const seen = await connectionsOf(client, 'nunchi-test-plain');
    assert.ok(seen.length > 0);
    for (const c of seen) assert.equal(c.tls, false);
  });

  it('a node certificate the configured CA did not sign is refused, and the error says what to check', async () => {
    const otherCa = join(scratch, 'other-ca.crt');
    writeFileSync(otherCa, rootCertificates[0]);
    await assert.rejects(
      connect(config({ CASSANDRA_TLS_CA_FILE: otherCa }), 'nunchi-test-wrong-ca'),
      (error: Error) => {
        assert.ok(error instanceof CassandraUnavailableError, error.message);
        assert.match(error.message, /certificate/i);
        assert.match(error.message, /CASSANDRA_TLS_CA_FILE/);
        return true;
      },
    );
  });
});
