import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CustomerKeyRepository, storedIdentityValue } from '@nunchi/cassandra';
import { projectPath, requireIdentityKey } from '@nunchi/config';
import type { IngestReply } from '@nunchi/contracts/core';
import { startServices, type RunningServices } from '../tools/services.js';
import { runId, startHarness, type Harness } from './support/harness.js';
import { post } from './support/streams.js';

const exec = promisify(execFile);

/** The environment of a process started outside development mode, with no key configured. */
function withoutKeys(): Record<string, string> {
  const env = { ...process.env } as Record<string, string>;
  for (const name of ['NODE_ENV', 'NUNCHI_DEV_MODE', 'NUNCHI_IDENTITY_SECRET', 'NUNCHI_IDENTITY_KEY_ID'])
    delete env[name];
  return env;
}

async function runNode(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, args, { env, timeout: 30_000 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('identity keys: none outside development mode', () => {
  it('ingestion does not start without NUNCHI_IDENTITY_SECRET, and says how to fix it', async () => {
    const { code, out } = await runNode([projectPath('dist', 'apps', 'ingestion', 'src', 'main.js')], {
      ...withoutKeys(),
      NUNCHI_INGESTION_PORT: '0',
    });
    assert.equal(code, 1, out);
    assert.match(out, /NUNCHI_IDENTITY_SECRET is not set, and outside development mode there is no default/);
    assert.match(out, /NUNCHI_DEV_MODE=1/);
    assert.doesNotMatch(out, /at loadConfig/, 'a message, not a stack trace');
  });

  it('the CLI refuses a command that hashes identities, and runs one that does not', async () => {
    const cli = projectPath('dist', 'apps', 'cli', 'src', 'main.js');
    const imported = await runNode(
      [cli, 'customers', 'import', projectPath('demo', 'customers.ndjson')],
      withoutKeys(),
    );
    assert.notEqual(imported.code, 0);
    assert.match(imported.out, /NUNCHI_IDENTITY_SECRET is not set/);
    const listed = await runNode([cli, 'campaigns', 'list'], withoutKeys());
    assert.equal(listed.code, 0, listed.out);
  });
});

/**
 * A rotation (docs/security.md): ingestion with a new key and the old one as previous finds an identity stored
 * under the old key and stores it again under the new one, so that once the old key is dropped the customer
 * is still found.
 */
describe('identity keys: a rotation', () => {
  let h: Harness;
  const started: RunningServices[] = [];
  const logs: string[] = [];
  const run = runId();
  const newKey = { NUNCHI_IDENTITY_SECRET: `rotated-${run}-secret-key`, NUNCHI_IDENTITY_KEY_ID: 'k2' };
  const phone = `+82 10-${randomInt(1000, 9999)}-${randomInt(1000, 9999)}`;
  const visit = (id: string) => ({
    id: `t${run}-${id}`,
    type: 'visit',
    channel: 'pos',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    customer: { phone },
    payload: {},
  });

  before(async () => {
    // The rotation's first step: every service may open what is wrapped under the new key (context, decision and
    // analytics open the data keys the rotated ingestion below wraps under it), none wraps under it yet.
    h = await startHarness({
      NUNCHI_IDENTITY_PREVIOUS_KEYS: `${newKey.NUNCHI_IDENTITY_KEY_ID}:${newKey.NUNCHI_IDENTITY_SECRET}`,
    });
  });
  after(async () => {
    for (const s of started) await s.stop();
    await h?.close();
  });

  const ingestion = async (offset: number, env: Record<string, string>) => {
    const port = Number(new URL(h.services.urls.ingestion).port) + offset;
    const s = await startServices({
      services: ['ingestion'],
      env: { NUNCHI_INGESTION_PORT: String(port), ...env },
      log: (name, line) => void logs.push(`${name}+${offset} ${line}`),
    });
    started.push(s);
    return `${s.urls.ingestion}/v1/events`;
  };
  const customerOf = async (url: string, id: string) => {
    const reply = (await post(url, JSON.stringify(visit(id)))).body as IngestReply;
    assert.ok(reply.ok, JSON.stringify(reply));
    return reply.customerId;
  };
  const owner = async (secret: string) =>
    (
      await h.cql.execute('SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?', [
        'phone',
        storedIdentityValue('phone', phone, secret),
      ])
    ).first()?.['customer_id'] as string | undefined;

  it('finds an identity stored under the previous key and stores it under the current one', async () => {
    const old = requireIdentityKey(h.config);
    const first = await customerOf(`${h.services.urls.ingestion}/v1/events`, 'a');
    assert.equal(await owner(old.secret), first);
    assert.equal(await owner(newKey.NUNCHI_IDENTITY_SECRET), undefined);

    const rotating = await ingestion(61, {
      ...newKey,
      NUNCHI_IDENTITY_PREVIOUS_KEYS: `${old.id}:${old.secret}`,
    });
    assert.equal(await customerOf(rotating, 'b'), first, 'the same customer, not a new anonymous one');
    assert.equal(await owner(newKey.NUNCHI_IDENTITY_SECRET), first, 're-keyed');
    // The customer's data key (ingestion seals the payload under it) is wrapped again under the new key too.
    assert.equal((await new CustomerKeyRepository(h.cql).get(first))?.kekId, newKey.NUNCHI_IDENTITY_KEY_ID);

    const rotated = await ingestion(62, newKey);
    assert.equal(await customerOf(rotated, 'c'), first, 'still found once the old key is gone');
  });
});
