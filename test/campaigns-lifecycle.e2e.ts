import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiKeyRepository } from '@nunchi/cassandra';
import { localDay } from '@nunchi/context-model';
import { Subjects, type ErrorReply, type LagReport } from '@nunchi/contracts/core';
import { encodeJson } from '@nunchi/messaging';
import type {
  CampaignDiff,
  CampaignHistory,
  CampaignListing,
  CampaignTestReport,
  ChangeResult,
  DraftSaved,
  ValidationResult,
} from '@nunchi/operations';
import type { SimulationJob } from '../apps/analytics/src/campaigns/simulation-jobs.js';
import { decisionsOf, purchase, sendAll, waitLoaded } from './support/decision.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../apps/cli/src/main.js');

interface Answer {
  status: number;
  /** the JSON answer (typed by the caller of expect), or the text of a non-JSON one */
  body: unknown;
}

type Refusal = ErrorReply['error'] & { message: string };

/**
 * The campaigns API (hosted by the analytics service) driven over HTTP against the real Cassandra, NATS and
 * the four services: a marketer's whole lifecycle, what a decision replica makes of it, and the audit trail.
 */
describe('campaigns API: draft → validate → simulate → activate → live → pause → rollback → history', () => {
  let h: Harness;
  const run = runId();
  const id = `t${run}-life`;
  const shop = `t${run}-shop`;
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-lifecycle-'));

  /** Each person's API key (admin: the lifecycle is the subject here; roles are test/http-auth.e2e.ts's). */
  const keyOf: Record<string, string> = {};
  /** A caller's name as the audit trail shows it, without its key id: "kim (key 0123456789ab)" → "kim". */
  const who = (name: string) => name.replace(/ \(key [0-9a-f]{12}\)$/, '');
  const call = async (method: string, path: string, body?: unknown, actor = 'kim'): Promise<Answer> => {
    const response = await fetch(`${h.services.urls.analytics}/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        authorization: `Bearer ${keyOf[actor]}`,
        'user-agent': 'lifecycle-e2e',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body:
        text && response.headers.get('content-type')?.startsWith('application/json')
          ? JSON.parse(text)
          : text,
    };
  };
  /** The answer's body, as T, after checking its status. */
  const expect = async <T>(answer: Promise<Answer>, status: number): Promise<T> => {
    const a = await answer;
    assert.equal(a.status, status, JSON.stringify(a.body));
    return a.body as T;
  };
  /** A refusal's error. */
  const refusal = async (answer: Promise<Answer>, status: number): Promise<Refusal> => {
    const { error } = await expect<ErrorReply>(answer, status);
    return { ...error, message: error.message ?? '' };
  };
  const loaded = async (): Promise<Record<string, number>> =>
    (
      (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      }
    ).loaded;

  const yaml = (value: number, extra = '') =>
    `id: ${id}\nname: Lifecycle ${run}\ntrigger: { types: [purchase], channels: [pos], stores: [${shop}] }\n` +
    // The highest priority: other campaigns left active in a shared keyspace must not win its events.
    `condition: "event.amount >= 20000"\npriority: 1000000\noffers: [{ id: thanks, title: Thank you, value: ${value} }]\n${extra}`;

  before(async () => {
    h = await startHarness({ NUNCHI_SLA_MS: '600000' });
    const keys = new ApiKeyRepository(h.cql);
    for (const name of ['kim', 'lee', 'park'])
      keyOf[name] = (
        await keys.create(
          { name, role: 'admin', ratePerSecond: 10_000, createdBy: 'campaigns-lifecycle.e2e' },
          Date.now(),
        )
      ).key;
  });

  after(async () => {
    // Leave nothing active or drafted behind in the shared keyspace, however far the test got.
    if (h) {
      await call('POST', `/campaigns/${id}/end`).catch(() => undefined);
      await call('DELETE', `/campaigns/${id}/draft`).catch(() => undefined);
    }
    await h?.close();
  });

  it('keeps drafts off the replicas, versions every change, and audits who, when, what and from where', async () => {
    // History to simulate on: three purchases at the shop before the campaign exists.
    const fromMs = Date.now() - 1_000;
    const early = [0, 1, 2].map((i) => purchase(`t${run}-h${i}`, `t${run}-c${i}`, shop, 25_000));
    await sendAll(h.nc, early, 1);
    const month = localDay(Date.now(), h.config.domain.timeZone).slice(0, 7);
    for (const e of early)
      await waitFor(`event ${e.id} stored`, async () =>
        (
          await h.cql.execute(
            'SELECT event_id FROM customer_events WHERE customer_id = ? AND month = ?',
            [e.customer.id, month],
            {
              prepare: true,
            },
          )
        ).rowLength > 0
          ? true
          : undefined,
      );

    // 1. A draft with a problem is saved (work in progress) and its problems answered exactly as the CLI prints them.
    const broken = yaml(1000, 'audiance: "customer.age > 30"\n');
    const created = await expect<DraftSaved>(call('POST', '/campaigns', { source: broken }), 201);
    assert.equal(created.campaignId, id);
    assert.equal(created.revision, 1);
    assert.deepEqual(created.problems, [
      { path: 'audiance', message: 'is not a known field (did you mean audience?)' },
    ]);
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, broken);
    const printed = await nunchi(['campaigns', 'validate', file]);
    assert.equal(printed.code, 1);
    const refused = await refusal(call('POST', `/campaigns/${id}/activate`, {}), 422);
    assert.equal(refused.code, 'VALIDATION_FAILED');
    assert.equal(refused.message, printed.stderr.trim(), 'the same words as the CLI');
    assert.deepEqual(refused.details, created.problems);
    assert.equal((await refusal(call('POST', '/campaigns', { source: broken }), 409)).code, 'CONFLICT');

    // 2. Fixed from the revision it was read at; an edit from a stale revision is refused, not lost.
    const fixed = await expect<DraftSaved>(
      call('PUT', `/campaigns/${id}/draft`, { source: yaml(1000), revision: 1 }, 'lee'),
      200,
    );
    assert.deepEqual([fixed.revision, fixed.problems], [2, []]);
    assert.match(
      (await refusal(call('PUT', `/campaigns/${id}/draft`, { source: yaml(5), revision: 1 }), 409)).message,
      /revision 2, not 1/,
    );
    assert.deepEqual(await expect<ValidationResult>(call('POST', `/campaigns/${id}/draft/validate`), 200), {
      campaignId: id,
      valid: true,
      problems: [],
      text: '',
      revision: 2,
    });
    const listed = (
      await expect<{ campaigns: CampaignListing[] }>(call('GET', '/campaigns?state=draft'), 200)
    ).campaigns.filter((c) => c.campaignId === id);
    assert.deepEqual(
      listed.map((c) => [c.status, c.version, c.draft?.revision]),
      [['draft', undefined, 2]],
    );

    // 3. A dry run of the draft on one event: explained, nothing written.
    const dry = await expect<CampaignTestReport & { tested: string }>(
      call('POST', `/campaigns/${id}/test`, {
        event: purchase(`t${run}-dry`, 'x', shop, 30_000),
        customerId: `t${run}-c0`,
      }),
      200,
    );
    assert.equal(dry.tested, `${id} draft (revision 2)`);
    assert.ok(
      dry.lines.some((l) => l.includes(`${id} v1 offers thanks`)),
      dry.lines.join('\n'),
    );

    // 4. Simulated on history by a worker process the API starts and follows.
    const job = await expect<SimulationJob>(
      call('POST', `/campaigns/${id}/simulations`, { from: new Date(fromMs).toISOString() }),
      202,
    );
    assert.equal(job.status, 'running');
    assert.equal(job.target, 'draft (revision 2)');
    const done = await waitFor(
      'the simulation',
      async () => {
        const s = await expect<SimulationJob>(call('GET', `/simulations/${job.id}`), 200);
        return s.status === 'running' ? undefined : s;
      },
      120_000,
    );
    assert.equal(done.status, 'done', done.error);
    assert.equal(done.progress?.phase, 'replay');
    assert.equal(done.result?.report.offers.offers, 3, JSON.stringify(done.result?.report.offers));
    const ndjson = await expect<string>(call('GET', `/simulations/${job.id}/decisions`), 200);
    const simulated = String(ndjson)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { eventId: string; offerId: string });
    assert.deepEqual(
      simulated.filter((d) => early.some((e) => e.id === d.eventId)).map((d) => d.offerId),
      ['thanks', 'thanks', 'thanks'],
    );
    // One simulation at a time; a running one can be cancelled (its worker stops, no decisions file). This
    // one starts while a (forged) report says a context consumer is 3 s behind: it waits for live traffic,
    // and the job says so.
    const behind = (): LagReport => ({
      group: 'context',
      member: `test-${run}`,
      atMs: Date.now(),
      partitions: [{ partition: 0, oldestAgeMs: 3_000, pending: 99 }],
    });
    const reporting = setInterval(() => h.nc.publish(Subjects.lag('context'), encodeJson(behind())), 200);
    let second: SimulationJob;
    try {
      second = await expect<SimulationJob>(
        call('POST', `/campaigns/${id}/simulations`, { version: 'draft' }),
        202,
      );
      await waitFor(
        'the simulation to wait for live traffic',
        async () => {
          const s = await expect<SimulationJob>(call('GET', `/simulations/${second.id}`), 200);
          // The whole job in the message: which of worker start, first report and pacing went wrong.
          assert.equal(s.status, 'running', `it waits rather than finishes: ${JSON.stringify(s)}`);
          return s.progress?.waitingForLiveTraffic ? s : undefined;
        },
        20_000,
      );
    } finally {
      clearInterval(reporting);
    }
    assert.match(
      (await refusal(call('POST', `/campaigns/${id}/simulations`), 409)).message,
      /simulation\(s\) running/,
    );
    assert.equal(
      (await expect<SimulationJob>(call('DELETE', `/simulations/${second.id}`), 200)).status,
      'cancelled',
    );
    assert.equal((await refusal(call('GET', `/simulations/${second.id}/decisions`), 409)).code, 'CONFLICT');
    assert.equal((await refusal(call('GET', '/simulations/sim-nope'), 404)).code, 'NOT_FOUND');
    assert.equal(
      (await refusal(call('POST', `/campaigns/${id}/simulations`, { from: 'yesterday' }), 400)).message,
      '--from: not a date: yesterday (YYYY-MM-DD, a local day, or an ISO-8601 instant with its offset)',
    );
    // Not one of those steps reached a decision replica.
    assert.equal((await loaded())[id], undefined);

    // 5. Activated: version 1, loaded by the replica, decides live.
    const v1 = await expect<ChangeResult & { draftRevision: number }>(
      call('POST', `/campaigns/${id}/activate`, { revision: 2 }),
      200,
    );
    assert.deepEqual([v1.version, v1.state, v1.status, v1.draftRevision], [1, 'active', 'active', 2]);
    await waitLoaded([h.services.urls.decision], id, 1);
    const live1 = purchase(`t${run}-e1`, `t${run}-c1`, shop, 30_000);
    await sendAll(h.nc, [live1]);
    const [d1] = await decisionsOf(h.cql, [live1]);
    assert.deepEqual(
      [d1.outcome, d1.campaignId, d1.campaignVersion, d1.offerId, d1.value],
      ['offer', id, 1, 'thanks', 1000],
    );

    // 6. The next version prepared beside the live one, then activated: version 2.
    const edit = await expect<DraftSaved>(call('PUT', `/campaigns/${id}/draft`, { source: yaml(3000) }), 200);
    assert.deepEqual([edit.revision, edit.baseVersion], [4, 1]);
    assert.equal((await loaded())[id], 1, 'the live version keeps running while its draft is edited');
    assert.equal((await expect<ChangeResult>(call('POST', `/campaigns/${id}/activate`), 200)).version, 2);
    await waitLoaded([h.services.urls.decision], id, 2);

    // 7. Paused: version 3, gone from the replica.
    const paused = await expect<ChangeResult>(call('POST', `/campaigns/${id}/pause`, undefined, 'park'), 200);
    assert.deepEqual([paused.version, paused.state], [3, 'paused']);
    assert.equal(
      (await expect<ChangeResult>(call('POST', `/campaigns/${id}/pause`), 200)).changed,
      false,
      'a retried pause changes nothing',
    );
    await waitLoaded([h.services.urls.decision], id, undefined);

    // 8. Rolled back to version 1: a new version 4, active, deciding with version 1's offer.
    const back = await expect<ChangeResult & { from: number }>(
      call('POST', `/campaigns/${id}/rollback`, { version: 1 }),
      200,
    );
    assert.deepEqual([back.version, back.state, back.from], [4, 'active', 1]);
    await waitLoaded([h.services.urls.decision], id, 4);
    const live2 = purchase(`t${run}-e2`, `t${run}-c2`, shop, 30_000);
    await sendAll(h.nc, [live2]);
    const [d2] = await decisionsOf(h.cql, [live2]);
    assert.deepEqual([d2.outcome, d2.campaignVersion, d2.value], ['offer', 4, 1000]);

    // 9. History and diff.
    const history = await expect<CampaignHistory>(call('GET', `/campaigns/${id}/history`), 200);
    assert.deepEqual(
      history.versions.map((v) => [v.version, v.state, who(v.appliedBy ?? '')]),
      [
        [1, 'active', 'kim'],
        [2, 'active', 'kim'],
        [3, 'paused', 'park'],
        [4, 'active', 'kim'],
      ],
    );
    assert.deepEqual(
      history.changes.map((c) => [
        c.action,
        c.fromStatus ?? null,
        c.toStatus,
        c.version ?? c.draftRevision,
        who(c.actor.name),
      ]),
      [
        ['rollback', 'paused', 'active', 4, 'kim'],
        ['pause', 'active', 'paused', 3, 'park'],
        ['activate', 'active', 'active', 2, 'kim'],
        ['save-draft', 'active', 'active', 4, 'kim'],
        ['activate', 'draft', 'active', 1, 'kim'],
        ['save-draft', 'draft', 'draft', 2, 'lee'],
        ['save-draft', null, 'draft', 1, 'kim'],
      ],
    );
    for (const c of history.changes) {
      assert.equal(c.actor.verified, true, 'the authenticated caller');
      assert.match(c.actor.origin, /^http 127\.0\.0\.1 lifecycle-e2e$/);
    }
    assert.equal(history.changes[0].detail, 'rolled back to v1');
    const same = await expect<CampaignDiff>(call('GET', `/campaigns/${id}/diff?from=1&to=4`), 200);
    assert.equal(same.identical, true);
    const changed = await expect<CampaignDiff>(call('GET', `/campaigns/${id}/diff?from=1&to=2`), 200);
    assert.equal(changed.identical, false);
    assert.match(
      changed.diff,
      new RegExp(`^--- ${id} v1\\tactive, applied .* by kim \\(key [0-9a-f]{12}\\)\\n\\+\\+\\+ ${id} v2\\t`),
    );
    assert.match(changed.diff, /\n-\s+value: 1000\n\+\s+value: 3000\n/);
    const cliDiff = await nunchi(['campaigns', 'diff', id, '1', '2']);
    assert.equal(cliDiff.stdout, `${changed.diff}`, 'the CLI prints the same diff');

    // The audit rows themselves.
    const rows = (
      await h.cql.execute(
        'SELECT action, actor, actor_verified, origin FROM campaign_audit WHERE campaign_id = ?',
        [id],
        { prepare: true },
      )
    ).rows;
    assert.equal(rows.length, 7);
    assert.ok(rows.every((r) => r['actor_verified'] === true && String(r['origin']).startsWith('http ')));

    // 10. What the lifecycle refuses, and how it says so.
    assert.match(
      (await refusal(call('POST', `/campaigns/${id}/archive`), 409)).message,
      /end it before archiving it/,
    );
    assert.match(
      (await refusal(call('POST', `/campaigns/${id}/rollback`, { version: 9 }), 404)).message,
      /has no version 9 \(versions 1 to 4\)/,
    );
    assert.equal((await refusal(call('POST', `/campaigns/t${run}-nothing/pause`), 404)).code, 'NOT_FOUND');
    const badBody = await refusal(call('POST', `/campaigns/${id}/rollback`, { version: 'x', extra: 1 }), 400);
    assert.deepEqual(badBody.details.map((d) => `${d.path}: ${d.message}`).sort(), [
      'extra: property extra should not exist',
      'version: must be an integer number',
      'version: must not be less than 1',
    ]);
    assert.equal((await expect<ChangeResult>(call('POST', `/campaigns/${id}/end`), 200)).state, 'ended');
    assert.match(
      (await refusal(call('POST', `/campaigns/${id}/resume`), 409)).message,
      /has ended and cannot be resumed: ending a campaign is final/,
    );
    assert.equal(
      (await expect<ChangeResult>(call('POST', `/campaigns/${id}/archive`), 200)).state,
      'archived',
    );
    assert.equal(
      (await expect<{ campaigns: CampaignListing[] }>(call('GET', '/campaigns'), 200)).campaigns.some(
        (c) => c.campaignId === id,
      ),
      false,
    );
  });

  /** The nunchi CLI against the same keyspace and NATS. */
  function nunchi(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], {
        env: { ...process.env, CASSANDRA_KEYSPACE: h.config.cassandra.keyspace, NUNCHI_ACTOR: 'kim' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
});
