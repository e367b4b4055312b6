import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { asMigrator, ConfigError, identityKeys, loadConfig, requireIdentityKey } from './config.js';

/** context and decision need an identity key outside development mode (customers' data keys) */
const KEY = { NUNCHI_IDENTITY_SECRET: 'a-test-identity-secret' };
describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const c = loadConfig('decision', { ...KEY });
    assert.equal(c.httpPort, 3003);
    assert.equal(c.nats.url, 'nats://127.0.0.1:14222');
    assert.equal(c.nats.partitions, 16);
    assert.deepEqual(c.cassandra.contactPoints, ['127.0.0.1:9042']);
    assert.equal(c.domain.timeZone, 'Asia/Seoul');
    assert.equal(c.domain.slaMs, 2000);
    assert.equal(c.telemetry.serviceName, 'nunchi-decision');
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig('context', {
        ...KEY,
        NUNCHI_PARTITIONS: '0',
        NATS_URL: 'http://x',
        NUNCHI_TIMEZONE: 'Mars/Base',
        OTEL_TRACES_EXPORTER: 'jaeger',
      });
      assert.fail('expected ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.split('=')[0].split(' ')[0]).sort(), [
        'NATS_URL',
        'NUNCHI_PARTITIONS',
        'NUNCHI_TIMEZONE',
        'OTEL_TRACES_EXPORTER',
      ]);
    }
  });

  it('traces events by default; statement spans only with NUNCHI_TRACE_DETAIL=statements', () => {
    assert.equal(loadConfig('decision', { ...KEY }).telemetry.detail, 'events');
    assert.equal(
      loadConfig('decision', { ...KEY, NUNCHI_TRACE_DETAIL: 'statements' }).telemetry.detail,
      'statements',
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, NUNCHI_TRACE_DETAIL: 'all' }),
      /NUNCHI_TRACE_DETAIL/,
    );
  });

  it("points the console at this machine's services on their configured ports, and at Zipkin", () => {
    const c = loadConfig('analytics', { NUNCHI_CONTEXT_PORT: '3202' }).console;
    assert.deepEqual(c, {
      traceUrl: 'http://127.0.0.1:9411/zipkin/traces/{traceId}',
      contextUrl: 'http://127.0.0.1:3202',
      decisionUrl: 'http://127.0.0.1:3003',
    });
    assert.equal(
      loadConfig('analytics', { NUNCHI_DECISION_URL: 'http://decision:3003' }).console.decisionUrl,
      'http://decision:3003',
    );
    assert.throws(() => loadConfig('analytics', { NUNCHI_TRACE_URL: 'zipkin' }), /NUNCHI_TRACE_URL/);
  });

  it("takes the CLI's API URL without a trailing slash, and refuses one that is not http(s)", () => {
    assert.equal(loadConfig('cli', {}).auth.cliApiUrl, undefined);
    assert.equal(
      loadConfig('cli', { NUNCHI_API_URL: 'https://nunchi.example.com/' }).auth.cliApiUrl,
      'https://nunchi.example.com',
    );
    assert.throws(
      () => loadConfig('cli', { NUNCHI_API_URL: 'nunchi.example.com' }),
      /NUNCHI_API_URL="nunchi.example.com" must be a http: or https: URL/,
    );
  });

  it('requires an identity key outside an explicit development mode, naming the variable and the way out', () => {
    for (const env of [
      {},
      { NODE_ENV: 'production' },
      { NODE_ENV: 'staging' },
      { NUNCHI_DEV_MODE: '0', NODE_ENV: 'test' },
    ]) {
      assert.equal(
        loadConfig('ingestion', { NUNCHI_IDENTITY_SECRET: 'x'.repeat(32), ...env }).domain.identityKey
          ?.secret,
        'x'.repeat(32),
      );
      assert.throws(
        () => loadConfig('ingestion', env),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(
            e.message,
            /NUNCHI_IDENTITY_SECRET is not set, and outside development mode there is no default/,
          );
          assert.match(e.message, /NUNCHI_DEV_MODE=1/);
          return true;
        },
        JSON.stringify(env),
      );
    }
    // The CLI and the service that never seals personal data start without one; a command that needs it says so.
    const cli = loadConfig('cli', {});
    assert.equal(cli.domain.identityKey, undefined);
    assert.throws(() => requireIdentityKey(cli), /NUNCHI_IDENTITY_SECRET is not set/);
    assert.equal(loadConfig('analytics', {}).domain.identityKey, undefined);
    // context and decision wrap and unwrap customers' data keys under a key derived from it (crypto-shredding)
    for (const service of ['context', 'decision'] as const)
      assert.throws(() => loadConfig(service, {}), /NUNCHI_IDENTITY_SECRET is not set/, service);
  });

  it('uses the public development key only in development mode, said explicitly', () => {
    for (const env of [{ NUNCHI_DEV_MODE: '1' }, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }]) {
      const c = loadConfig('ingestion', env);
      assert.equal(c.devMode, true);
      assert.equal(requireIdentityKey(c).id, 'dev');
    }
    assert.equal(
      loadConfig('ingestion', { NUNCHI_DEV_MODE: '1', NUNCHI_IDENTITY_SECRET: 'y'.repeat(20) }).domain
        .identityKey?.id,
      'k1',
    );
    assert.throws(
      () => loadConfig('ingestion', { NODE_ENV: 'production', NUNCHI_DEV_MODE: '1' }),
      /NUNCHI_DEV_MODE cannot be on when NODE_ENV=production/,
    );
  });

  it('reads the key id and the previous keys of a rotation', () => {
    const c = loadConfig('ingestion', {
      NUNCHI_IDENTITY_SECRET: 'n'.repeat(24),
      NUNCHI_IDENTITY_KEY_ID: '2026-12',
      NUNCHI_IDENTITY_PREVIOUS_KEYS: 'k1:' + 'o'.repeat(24) + ', k0:' + 'p:q'.repeat(8),
    });
    assert.deepEqual(identityKeys(c), [
      { id: '2026-12', secret: 'n'.repeat(24) },
      { id: 'k1', secret: 'o'.repeat(24) },
      { id: 'k0', secret: 'p:q'.repeat(8) },
    ]);
    assert.throws(
      () => loadConfig('ingestion', { NUNCHI_DEV_MODE: '1', NUNCHI_IDENTITY_KEY_ID: 'a b' }),
      /NUNCHI_IDENTITY_KEY_ID/,
    );
    assert.throws(
      () => loadConfig('ingestion', { NUNCHI_DEV_MODE: '1', NUNCHI_IDENTITY_PREVIOUS_KEYS: 'k1:short' }),
      /NUNCHI_IDENTITY_PREVIOUS_KEYS must be/,
    );
    assert.throws(
      () =>
        loadConfig('ingestion', {
          NUNCHI_IDENTITY_SECRET: 'n'.repeat(24),
          NUNCHI_IDENTITY_PREVIOUS_KEYS: 'k1:' + 'o'.repeat(24),
        }),
      /names key id "k1" twice/,
    );
  });

  it('reads what ingestion does with unknown identifiers, and how long it trusts its identity cache', () => {
    const defaults = loadConfig('ingestion', { NUNCHI_DEV_MODE: '1' }).domain;
    assert.deepEqual([defaults.unknownIdentifiers, defaults.identityCacheTtlMs], ['create', 5000]);
    const set = loadConfig('ingestion', {
      NUNCHI_DEV_MODE: '1',
      NUNCHI_UNKNOWN_IDENTIFIERS: 'refuse',
      NUNCHI_IDENTITY_CACHE_TTL_MS: '1500',
    }).domain;
    assert.deepEqual([set.unknownIdentifiers, set.identityCacheTtlMs], ['refuse', 1500]);
    assert.throws(
      () => loadConfig('ingestion', { NUNCHI_UNKNOWN_IDENTIFIERS: 'ignore' }),
      /NUNCHI_UNKNOWN_IDENTIFIERS/,
    );
    assert.throws(
      () => loadConfig('ingestion', { NUNCHI_IDENTITY_CACHE_TTL_MS: '0' }),
      /NUNCHI_IDENTITY_CACHE_TTL_MS/,
    );
  });

  it("reads the adapters' rates: one per channel by default, channels of their own, 0 for none", () => {
    const d = loadConfig('ingestion', { NUNCHI_DEV_MODE: '1' });
    assert.equal(d.domain.adapterRatePerSecond, 2_000);
    assert.deepEqual(d.domain.adapterRates, {});
    const c = loadConfig('ingestion', {
      NUNCHI_DEV_MODE: '1',
      NUNCHI_ADAPTER_RATE_PER_SECOND: '0',
      NUNCHI_ADAPTER_RATES: 'pos=5000, web=0',
    });
    assert.equal(c.domain.adapterRatePerSecond, 0);
    assert.deepEqual(c.domain.adapterRates, { pos: 5000, web: 0 });
    assert.throws(
      () => loadConfig('ingestion', { NUNCHI_DEV_MODE: '1', NUNCHI_ADAPTER_RATES: 'pos:5000,web=-1' }),
      (error: ConfigError) =>
        error.problems.length === 2 &&
        error.problems.every((p) => p.includes('must be <channel>=<events per second')),
    );
  });

  it('gives every stream a byte limit, in MiB from the environment', () => {
    const defaults = loadConfig('decision', { ...KEY }).nats.streamMaxBytes;
    assert.deepEqual(defaults, {
      events: 4096 * 1_048_576,
      enriched: 2048 * 1_048_576,
      decisions: 1024 * 1_048_576,
      dlq: 256 * 1_048_576,
      leases: 16 * 1_048_576,
    });
    assert.equal(
      loadConfig('decision', { ...KEY, NUNCHI_STREAM_DLQ_MAX_MIB: '8' }).nats.streamMaxBytes.dlq,
      8 * 1_048_576,
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, NUNCHI_STREAM_EVENTS_MAX_MIB: '0' }),
      /NUNCHI_STREAM_EVENTS_MAX_MIB/,
    );
  });

  it('bounds HTTP requests in time, leaving an erasure the time it waits', () => {
    assert.deepEqual(loadConfig('context', { ...KEY }).httpTimeouts, {
      requestMs: 10_000,
      handlerMs: 60_000,
      keepAliveMs: 30_000,
    });
    assert.throws(
      () => loadConfig('context', { ...KEY, NUNCHI_IDENTITY_CACHE_TTL_MS: '60000' }),
      /NUNCHI_HTTP_HANDLER_TIMEOUT_MS must exceed NUNCHI_IDENTITY_CACHE_TTL_MS \+ 10000 \(70000\)/,
    );
    assert.equal(
      loadConfig('context', {
        ...KEY,
        NUNCHI_IDENTITY_CACHE_TTL_MS: '60000',
        NUNCHI_HTTP_HANDLER_TIMEOUT_MS: '90000',
      }).httpTimeouts.handlerMs,
      90_000,
    );
  });

  it('reads a NATS identity from the environment or a password file, and names its reply subjects after it', () => {
    const none = { NUNCHI_NATS_AUTH_DIR: 'off' };
    assert.deepEqual(
      [
        loadConfig('decision', { ...KEY, ...none }).nats.auth,
        loadConfig('decision', { ...KEY, ...none }).nats.inboxPrefix,
      ],
      [undefined, '_INBOX'],
    );
    const direct = loadConfig('decision', { ...KEY, NATS_USER: 'decision', NATS_PASSWORD: 's3cret' }).nats;
    assert.deepEqual(
      [direct.auth, direct.inboxPrefix],
      [{ user: 'decision', password: 's3cret' }, '_INBOX_decision'],
    );
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-config-'));
    writeFileSync(join(dir, 'password'), 'from-a-file\n');
    const fromFile = loadConfig('decision', {
      ...KEY,
      NATS_USER: 'decision',
      NATS_PASSWORD_FILE: join(dir, 'password'),
    }).nats.auth;
    assert.equal(fromFile && 'password' in fromFile ? fromFile.password : undefined, 'from-a-file');
    assert.throws(
      () => loadConfig('decision', { ...KEY, ...none, NATS_USER: 'decision' }),
      /NATS_USER is set without NATS_NKEY_SEED\(_FILE\) or NATS_PASSWORD/,
    );
    assert.throws(() => loadConfig('decision', { ...KEY, NATS_PASSWORD: 'x' }), /without NATS_USER/);
    assert.throws(
      () =>
        loadConfig('decision', { ...KEY, NATS_USER: 'decision', NATS_PASSWORD_FILE: join(dir, 'missing') }),
      /NATS_PASSWORD_FILE=.* cannot be read/,
    );
  });

  it('reads a Cassandra role from the environment or a password file, and TLS options', () => {
    const none = loadConfig('decision', { ...KEY }).cassandra;
    assert.deepEqual([none.username, none.password, none.tls], [undefined, undefined, undefined]);
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-config-'));
    writeFileSync(join(dir, 'password'), 'from-a-file\n');
    writeFileSync(join(dir, 'ca.pem'), 'not parsed here');
    const c = loadConfig('decision', {
      ...KEY,
      CASSANDRA_USERNAME: 'nunchi_decision',
      CASSANDRA_PASSWORD_FILE: join(dir, 'password'),
      CASSANDRA_TLS_CA_FILE: join(dir, 'ca.pem'),
    }).cassandra;
    assert.deepEqual(
      [c.username, c.password, c.tls],
      [
        'nunchi_decision',
        'from-a-file',
        { caFile: join(dir, 'ca.pem'), certFile: undefined, keyFile: undefined, verifyHostname: true },
      ],
    );
    assert.deepEqual(
      loadConfig('decision', { ...KEY, CASSANDRA_TLS: 'true', CASSANDRA_TLS_VERIFY_HOSTNAME: 'false' })
        .cassandra.tls,
      { caFile: undefined, certFile: undefined, keyFile: undefined, verifyHostname: false },
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, CASSANDRA_USERNAME: 'nunchi_decision' }),
      /CASSANDRA_USERNAME is set without CASSANDRA_PASSWORD/,
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, CASSANDRA_PASSWORD: 'x' }),
      /without CASSANDRA_USERNAME/,
    );
    assert.throws(
      () =>
        loadConfig('decision', {
          ...KEY,
          CASSANDRA_USERNAME: 'u',
          CASSANDRA_PASSWORD_FILE: join(dir, 'missing'),
        }),
      /CASSANDRA_PASSWORD_FILE=.* cannot be read/,
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, CASSANDRA_TLS_CERT_FILE: join(dir, 'ca.pem') }),
      /CASSANDRA_TLS_CERT_FILE and CASSANDRA_TLS_KEY_FILE go together/,
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, CASSANDRA_TLS_CA_FILE: join(dir, 'missing.pem') }),
      /CASSANDRA_TLS_CA_FILE=.* cannot be read/,
    );
    assert.throws(
      () =>
        loadConfig('decision', { ...KEY, CASSANDRA_TLS: 'off', CASSANDRA_TLS_CA_FILE: join(dir, 'ca.pem') }),
      /while CASSANDRA_TLS is off/,
    );
  });

  it("takes a process's own role from the local node's password directory, and the migrator's for migrate", () => {
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-auth-'));
    for (const role of ['nunchi_decision', 'nunchi_operator', 'nunchi_migrator'])
      writeFileSync(join(dir, role), `${role}-password\n`);
    const decision = loadConfig('decision', { ...KEY, CASSANDRA_AUTH_DIR: dir }).cassandra;
    assert.deepEqual(
      [decision.username, decision.password, decision.localAuthDir],
      ['nunchi_decision', 'nunchi_decision-password', dir],
    );
    const cli = loadConfig('cli', { CASSANDRA_AUTH_DIR: dir }).cassandra;
    assert.equal(cli.username, 'nunchi_operator');
    const migrator = asMigrator(cli);
    assert.deepEqual(
      [migrator.username, migrator.password, migrator.rolePasswordsDir],
      ['nunchi_migrator', 'nunchi_migrator-password', dir],
    );
    // explicit credentials win, and are never swapped for the migrator's
    const explicit = loadConfig('cli', {
      CASSANDRA_AUTH_DIR: dir,
      CASSANDRA_USERNAME: 'someone',
      CASSANDRA_PASSWORD: 'theirs',
    }).cassandra;
    assert.deepEqual([explicit.username, asMigrator(explicit).username], ['someone', 'someone']);
    // a role without a file there: no credentials
    assert.equal(loadConfig('context', { ...KEY, CASSANDRA_AUTH_DIR: dir }).cassandra.username, undefined);
    // turned off (the three-host cluster, whose nodes check no passwords): none, even in development mode
    const off = loadConfig('decision', { ...KEY, CASSANDRA_AUTH_DIR: 'off', NUNCHI_DEV_MODE: '1' }).cassandra;
    assert.deepEqual([off.username, off.password, off.localAuthDir], [undefined, undefined, undefined]);
  });
  it('reads an nkey seed from the environment, a file, or the local auth directory by identity', () => {
    const seed = `SU${'A'.repeat(56)}`;
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-nkeys-'));
    assert.deepEqual(
      loadConfig('decision', { ...KEY, NATS_USER: 'decision', NATS_NKEY_SEED: seed }).nats.auth,
      {
        user: 'decision',
        seed,
        from: 'NATS_NKEY_SEED',
      },
    );
    writeFileSync(join(dir, 'decision.nk'), `${seed}\n`);
    writeFileSync(join(dir, 'operator.nk'), `${seed}\n`);
    const fromFile = loadConfig('decision', {
      ...KEY,
      NATS_USER: 'decision',
      NATS_NKEY_SEED_FILE: join(dir, 'decision.nk'),
    }).nats;
    assert.deepEqual([fromFile.auth?.user, fromFile.inboxPrefix], ['decision', '_INBOX_decision']);
    // nothing given: the process's own identity from the local directory; the CLI is the operator
    assert.equal(loadConfig('decision', { ...KEY, NUNCHI_NATS_AUTH_DIR: dir }).nats.auth?.user, 'decision');
    assert.equal(loadConfig('cli', { NUNCHI_NATS_AUTH_DIR: dir }).nats.auth?.user, 'operator');
    assert.equal(loadConfig('context', { ...KEY, NUNCHI_NATS_AUTH_DIR: dir }).nats.auth, undefined);
    assert.throws(
      () => loadConfig('decision', { ...KEY, NATS_USER: 'decision', NATS_NKEY_SEED: 'SUnot-a-seed' }),
      /NATS_NKEY_SEED is not an nkey user seed/,
    );
    assert.throws(
      () =>
        loadConfig('decision', {
          ...KEY,
          NATS_USER: 'decision',
          NATS_NKEY_SEED_FILE: join(dir, 'missing.nk'),
        }),
      /NATS_NKEY_SEED_FILE=.*missing.nk" cannot be read/,
    );
    assert.throws(
      () => loadConfig('decision', { ...KEY, NATS_NKEY_SEED: seed }),
      /NATS_NKEY_SEED .*without NATS_USER/,
    );
    assert.throws(
      () =>
        loadConfig('decision', { ...KEY, NATS_USER: 'decision', NATS_NKEY_SEED: seed, NATS_PASSWORD: 'x' }),
      /both set/,
    );
  });
});
