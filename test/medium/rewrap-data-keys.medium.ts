/**
 * `nunchi customers rewrap-keys` (libs/cassandra/src/rewrap-data-keys.ts) against the real Cassandra, in a
 * keyspace of its own (it reads the whole customer_keys table): after a rotation from identity key k1 to k2,
 * every data key still wrapped under k1 is wrapped under k2 — the data key itself unchanged — those under a key
 * the command was not given are left and named (exit code 3), a dry run writes nothing, an erased key is not
 * brought back, and a second run finds nothing left (docs/security.md, "Rotating the identity key").
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectCassandra,
  CustomerKeyRepository,
  migrate,
  type CqlClient,
  type RewrapReport,
} from '@nunchi/cassandra';
import { loadConfig, projectPath, type IdentityKey } from '@nunchi/config';
import { generateDataKey, unwrapDataKey, wrapDataKey, type DataKey } from '@nunchi/sealing';
import { nunchi } from '../support/harness.js';

describe('customers rewrap-keys: data keys move to the current identity key (a keyspace of its own)', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  const keyspace = `${config.cassandra.keyspace}_w${run}`.slice(0, 48);
  const k0: IdentityKey = { id: 'k0', secret: `lost-secret-${run}-0000` };
  const k1: IdentityKey = { id: 'k1', secret: `old-secret-${run}-11111` };
  const k2: IdentityKey = { id: 'k2', secret: `new-secret-${run}-22222` };
  /** the CLI after the rotation: k2 current, k1 previous (k0 long gone) */
  const env = {
    CASSANDRA_KEYSPACE: keyspace,
    NUNCHI_IDENTITY_SECRET: k2.secret,
    NUNCHI_IDENTITY_KEY_ID: k2.id,
    NUNCHI_IDENTITY_PREVIOUS_KEYS: `${k1.id}:${k1.secret}`,
    OTEL_TRACES_EXPORTER: 'none',
  };
  let ks: CqlClient;
  let keys: CustomerKeyRepository;
  /** customer → its data key and the identity key it is wrapped under at first */
  const seeded = new Map<string, { dataKey: DataKey; under: IdentityKey }>();
  const underOf = async (customerId: string) => (await keys.get(customerId))?.kekId;
  const rewrap = async (...args: string[]) => {
    const result = await nunchi(['customers', 'rewrap-keys', '--json', ...args], env);
    return { code: result.code, report: JSON.parse(result.stdout) as RewrapReport, stderr: result.stderr };
  };

  before(async () => {
    await migrate({ ...config.cassandra, keyspace }, projectPath('cql'));
    ks = await connectCassandra({ ...config.cassandra, keyspace }, { applicationName: 'nunchi-medium-test' });
    keys = new CustomerKeyRepository(ks);
    const under = [k1, k1, k1, k2, k0];
    for (const [i, kek] of under.entries()) {
      const customerId = `c${i}-${run}`;
      const dataKey = generateDataKey();
      await keys.create(customerId, wrapDataKey(customerId, dataKey, kek), new Date());
      seeded.set(customerId, { dataKey, under: kek });
    }
  });

  after(async () => {
    await ks?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await ks?.shutdown();
  });

  it('a dry run counts and writes nothing', async () => {
    const { code, report } = await rewrap('--dry-run');
    assert.equal(code, 3, 'keys under an identity key it was not given');
    assert.deepEqual(
      { ...report, unopenable: { ...report.unopenable } },
      {
        kekId: 'k2',
        scanned: 5,
        current: 1,
        rewrapped: 3,
        changedMeanwhile: 0,
        unopenable: { k0: 1 },
        dryRun: true,
      },
    );
    for (const [customerId, { under }] of seeded) assert.equal(await underOf(customerId), under.id);
  });

  it('wraps every key under a previous identity key again under the current one, the data key unchanged', async () => {
    const { code, report, stderr } = await rewrap();
    assert.equal(code, 3, stderr);
    assert.deepEqual([report.rewrapped, report.current, report.unopenable], [3, 1, { k0: 1 }]);
    for (const [customerId, { dataKey, under }] of seeded) {
      const stored = (await keys.get(customerId))!;
      if (under === k0) {
        assert.equal(stored.kekId, 'k0', 'left as it was');
        continue;
      }
      assert.equal(stored.kekId, 'k2');
      // Opens with the new identity key alone: the old one can be dropped.
      const opened = unwrapDataKey(customerId, stored, [k2]);
      assert.equal(opened.id, dataKey.id);
      assert.ok(opened.key.equals(dataKey.key), `${customerId}: the same data key`);
    }
  });

  it('finds nothing left the second time; without the unknown key it exits 0', async () => {
    const again = await rewrap();
    assert.deepEqual([again.report.rewrapped, again.report.current], [0, 4]);
    const lost = [...seeded].find(([, s]) => s.under === k0)![0];
    await ks.execute('DELETE FROM customer_keys WHERE customer_id = ?', [lost], { prepare: true });
    assert.equal((await rewrap()).code, 0);
  });

  it('does not bring back a key erased between its read and its update', async () => {
    const [customerId, { dataKey }] = [...seeded][0];
    const stored = (await keys.get(customerId))!;
    await ks.execute('DELETE FROM customer_keys WHERE customer_id = ?', [customerId], { prepare: true });
    // what the command does with a key it read before the erasure
    assert.equal(await keys.rewrap(customerId, wrapDataKey(customerId, dataKey, k2)), false);
    assert.equal(await keys.get(customerId), undefined);
    assert.equal(stored.kekId, 'k2');
  });
});
