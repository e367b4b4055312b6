import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiKeyRepository, connectCassandra, type AuditRecord, type CqlClient } from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { campaignFile } from './support/decision.js';
import { nunchi, runId } from './support/harness.js';

/**
 * Campaign changes made with the CLI are in the audit log like those made over HTTP (docs/security.md, "The
 * audit log"): by the OS user or NUNCHI_ACTOR, unverified — or, with NUNCHI_API_KEY, by that key, verified
 * against the key store and held to its role.
 */
describe('the CLI writes its campaign changes to the audit log', () => {
  const run = runId();
  const campaign = `t${run}-audited`;
  let cql: CqlClient;
  const keys: Record<'approver' | 'marketer', string> = { approver: '', marketer: '' };
  let approverId = '';

  before(async () => {
    cql = await connectCassandra(loadConfig('cli', { ...process.env }).cassandra);
    for (const role of ['approver', 'marketer'] as const) {
      const created = await new ApiKeyRepository(cql).create(
        { name: `t${run} ${role}`, role, ratePerSecond: 50, createdBy: 'cli-audit.e2e' },
        Date.now(),
      );
      keys[role] = created.key;
      if (role === 'approver') approverId = created.record.keyId;
    }
  });
  after(async () => {
    await nunchi(['campaigns', 'end', campaign]).catch(() => undefined);
    await cql?.shutdown();
  });

  /** Today's audit rows about the campaign, oldest first, as `nunchi audit --json` prints them. */
  const rowsOf = async (): Promise<AuditRecord[]> => {
    const audit = await nunchi(['audit', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    return audit.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditRecord)
      .filter((r) => r.target === campaign)
      .reverse();
  };
  const stateOf = async () => {
    const listed = await nunchi(['campaigns', 'list', '--all', '--json']);
    const line = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { campaignId: string; status: string })
      .find((c) => c.campaignId === campaign);
    return line?.status;
  };

  it('by the OS user or NUNCHI_ACTOR, marked unverified: apply, pause', async () => {
    const file = campaignFile({ id: campaign });
    const applied = await nunchi(['campaigns', 'apply', file], { NUNCHI_ACTOR: 'kim' });
    assert.equal(applied.code, 0, applied.stderr);
    const paused = await nunchi(['campaigns', '--actor', 'lee', 'pause', campaign]);
    assert.equal(paused.code, 0, paused.stderr);
    const rows = await rowsOf();
    assert.deepEqual(
      rows.map((r) => [r.action, r.actor, r.actorKind, r.roles, r.outcome]),
      [
        ['campaigns.activate nunchi campaigns apply', 'kim', 'cli', [], 0],
        ['campaigns.activate nunchi campaigns pause', 'lee', 'cli', [], 0],
      ],
    );
    assert.match(rows[0].detail ?? '', /version 1 \(active\)/);
    assert.match(rows[0].origin, /^cli \S+@\S+$/);
    const formatted = await nunchi(['audit']);
    assert.match(
      formatted.stdout,
      new RegExp(`campaigns.activate nunchi campaigns pause  ${campaign}  by lee \\[cli\\]`),
    );
  });

  it('with NUNCHI_API_KEY: by that key, verified, in the audit log and in the campaign trail', async () => {
    const resumed = await nunchi(['campaigns', 'resume', campaign], { NUNCHI_API_KEY: keys.approver });
    assert.equal(resumed.code, 0, resumed.stderr);
    const row = (await rowsOf()).at(-1)!;
    assert.deepEqual(
      [row.action, row.actor, row.actorKind, row.roles, row.outcome],
      [
        'campaigns.activate nunchi campaigns resume',
        `t${run} approver (key ${approverId})`,
        'key',
        ['approver'],
        0,
      ],
    );
    const history = await nunchi(['campaigns', 'history', campaign]);
    assert.match(
      history.stdout,
      new RegExp(`resume .*by t${run} approver \\(key ${approverId}\\)(?! \\(unverified\\))`),
    );
  });

  it("refuses a change the key's role does not allow, before anything changes; a failed change is recorded with why", async () => {
    const before = await rowsOf();
    const refused = await nunchi(['campaigns', 'pause', campaign], { NUNCHI_API_KEY: keys.marketer });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `t${run} marketer \\(key \\w+\\) \\(marketer\\) may not campaigns.activate: needs one of approver, admin`,
      ),
    );
    assert.equal(await stateOf(), 'active', 'not paused');
    assert.equal((await rowsOf()).length, before.length, 'refused at the door: not a change, not a row');

    // A key that does not hold is refused too, naming what is wrong.
    const unknown = await nunchi(['campaigns', 'pause', campaign], {
      NUNCHI_API_KEY: `${keys.approver.slice(0, -4)}AAAA`,
    });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NUNCHI_API_KEY: no API key \w+ with that secret/);
    const malformed = await nunchi(['campaigns', 'pause', campaign], { NUNCHI_API_KEY: 'letmein' });
    assert.match(malformed.stderr, /NUNCHI_API_KEY is not an API key/);
    assert.equal(await stateOf(), 'active');

    // Activating without a draft fails in the lifecycle: recorded, outcome 1, with the reason.
    const failed = await nunchi(['campaigns', 'activate', campaign], { NUNCHI_API_KEY: keys.approver });
    assert.equal(failed.code, 1);
    const last = (await rowsOf()).at(-1)!;
    assert.deepEqual([last.action, last.outcome], ['campaigns.activate nunchi campaigns activate', 1]);
    assert.ok(last.detail && failed.stderr.includes(last.detail.slice(0, 40)), last.detail);
  });

  it('records drafts and their discarding as campaigns.draft', async () => {
    const draft = await nunchi(['campaigns', 'draft', campaignFile({ id: campaign, priority: 7 })], {
      NUNCHI_API_KEY: keys.marketer,
    });
    assert.equal(draft.code, 0, draft.stderr);
    const discarded = await nunchi(['campaigns', 'discard', campaign], { NUNCHI_ACTOR: 'kim' });
    assert.equal(discarded.code, 0, discarded.stderr);
    const rows = (await rowsOf()).slice(-2);
    assert.deepEqual(
      rows.map((r) => [r.action, r.actorKind, r.roles, r.outcome]),
      [
        ['campaigns.draft nunchi campaigns draft', 'key', ['marketer'], 0],
        ['campaigns.draft nunchi campaigns discard', 'cli', [], 0],
      ],
    );
    assert.match(rows[0].detail ?? '', /draft revision 1/);
  });
});
