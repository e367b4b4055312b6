import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allows, ROLES, type Permission, type Role } from '@nunchi/access';
import { ApiKeyRepository, AuditLogRepository, utcDay, type AuditRecord } from '@nunchi/cassandra';
import { projectPath } from '@nunchi/config';
import type { ErrorReply } from '@nunchi/contracts/core';
import {
  dadsPurchase,
  nunchi as runCli,
  runId,
  seoulTime,
  startHarness,
  waitFor,
  type Harness,
} from './support/harness.js';

/** The rows of `nunchi audit --json`'s output (one JSON object a line) that name `target`, newest first. */
const auditLines = (stdout: string, target: string): AuditRecord[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord)
    .filter((r) => r.target === target);

/** The nunchi CLI with the tests' environment, as `auth-e2e`. */
const nunchi = (...args: string[]) => runCli(args, { NUNCHI_ACTOR: 'auth-e2e' });

const ISSUER = 'https://login.example.test';
const AUDIENCE = 'nunchi';

/** A JWT signed ES256 with `key` (what an OIDC provider issues). */
function jwt(key: KeyObject, claims: Record<string, unknown>, kid = 'k1'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'ES256', typ: 'JWT', kid })}.${part(claims)}`;
  return `${signed}.${sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/**
 * HTTP authentication and roles (docs/security.md) against the four services: no caller, a wrong key, an
 * expired token or a revoked key is 401; each role is refused (403) outside its permissions and the refusal
 * changes nothing; a key over its rate gets 429; every refusal is counted; changes land in the audit log.
 */
describe('HTTP authentication, roles, rate limits and the audit log', () => {
  let h: Harness;
  const run = runId();
  const keyOf = {} as Record<Role, string>;
  const provider = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const nowS = () => Math.floor(Date.now() / 1000);

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-auth-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(
      jwksFile,
      JSON.stringify({
        keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'ES256' }],
      }),
    );
    h = await startHarness({
      NUNCHI_OIDC_ISSUER: ISSUER,
      NUNCHI_OIDC_AUDIENCE: AUDIENCE,
      NUNCHI_OIDC_JWKS: jwksFile,
      // a revocation is seen within this (the test revokes a key)
      NUNCHI_AUTH_CACHE_TTL_MS: '300',
    });
    const keys = new ApiKeyRepository(h.cql);
    for (const role of ROLES)
      keyOf[role] = (
        await keys.create(
          { name: `t${run} ${role}`, role, ratePerSecond: 10_000, createdBy: 'http-auth.e2e' },
          Date.now(),
        )
      ).key;
  });
  after(async () => {
    // Leave nothing active or drafted behind in the shared keyspace, however far the test got.
    if (h) {
      await send('analytics', 'POST', `/v1/campaigns/t${run}-auth/end`, keyOf.admin, {}).catch(
        () => undefined,
      );
      await send('analytics', 'DELETE', `/v1/campaigns/t${run}-ghost/draft`, keyOf.admin).catch(
        () => undefined,
      );
    }
    await h?.close();
  });

  const url = (service: keyof Harness['services']['urls'], path: string) =>
    `${h.services.urls[service]}${path}`;
  const send = (
    service: keyof Harness['services']['urls'],
    method: string,
    path: string,
    credential: string | undefined,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    fetch(url(service, path), {
      method,
      // an empty Authorization: the test harness adds its admin key to requests that name none
      headers: {
        authorization: credential === undefined ? '' : `Bearer ${credential}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const refusal = async (response: Response, status: number) => {
    const text = await response.text();
    assert.equal(response.status, status, text);
    const body = JSON.parse(text) as ErrorReply;
    assert.equal(body.ok, false);
    return body.error;
  };
  const refusals = async (service: keyof Harness['services']['urls'], reason: string) => {
    const text = await (await fetch(url(service, '/metrics'))).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('nunchi_http_auth_refusals_total') && l.includes(`reason="${reason}"`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const auditRows = async (): Promise<AuditRecord[]> =>
    new AuditLogRepository(h.cql).ofDay(utcDay(Date.now()));

  it('answers only /health and /ready (and /metrics, by default) without credentials: everything else is 401 with a JSON reason', async () => {
    for (const service of ['ingestion', 'context', 'decision', 'analytics'] as const) {
      for (const path of ['/health', '/ready', '/metrics'])
        assert.equal((await send(service, 'GET', path, undefined)).status, 200, `${service} ${path}`);
    }
    const before = await refusals('context', 'no_credentials');
    for (const [service, method, path] of [
      ['ingestion', 'POST', '/v1/events'],
      ['context', 'GET', `/v1/customers/t${run}-x/context`],
      ['context', 'DELETE', `/v1/customers/t${run}-x`],
      ['decision', 'GET', '/v1/campaigns'],
      ['analytics', 'GET', '/v1/stats'],
      ['analytics', 'GET', '/v1/console/live'],
    ] as const) {
      const error = await refusal(
        await send(service, method, path, undefined, method === 'GET' ? undefined : {}),
        401,
      );
      assert.equal(error.code, 'UNAUTHENTICATED', `${service} ${method} ${path}`);
      assert.match(error.message ?? '', /credentials required/);
    }
    assert.equal(await refusals('context', 'no_credentials'), before + 2, 'counted');
  });

  it('refuses a wrong key, a malformed key and a token it cannot verify with 401', async () => {
    const unknown = `nk_${'0'.repeat(12)}_${'A'.repeat(43)}`;
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', unknown), 401)).message ?? '',
      /no API key 000000000000/,
    );
    const wrongSecret = keyOf.analyst.slice(0, -4) + 'AAAA';
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', wrongSecret), 401)).message ?? '',
      /no API key .* with that secret/,
    );
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', 'nk_short'), 401)).message ?? '',
      /malformed API key/,
    );
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', 'not-a-jwt'), 401)).message ?? '',
      /neither an API key/,
    );
    assert.ok((await refusals('analytics', 'unknown_key')) >= 2);
  });

  it('lets each role do its job and refuses it (403, changing nothing) everywhere else', async () => {
    const ghost = `t${run}-ghost`;
    const requests: Array<[Permission, keyof Harness['services']['urls'], string, string, unknown?]> = [
      ['events.send', 'ingestion', 'POST', '/v1/events', {}],
      ['customers.read', 'context', 'GET', `/v1/customers/${ghost}/context`],
      ['customers.erase', 'context', 'DELETE', `/v1/customers/bad%20id`],
      ['operations.read', 'context', 'GET', '/v1/context/stats'],
      ['results.read', 'decision', 'GET', `/v1/decisions/d-nope${run}`],
      ['campaigns.read', 'decision', 'GET', '/v1/campaigns'],
      ['results.read', 'analytics', 'GET', '/v1/stats'],
      ['campaigns.read', 'analytics', 'GET', '/v1/campaigns'],
      ['campaigns.draft', 'analytics', 'PUT', `/v1/campaigns/${ghost}/draft`, { source: '' }],
      ['campaigns.test', 'analytics', 'POST', '/v1/campaigns/validate', { source: '' }],
      ['campaigns.activate', 'analytics', 'POST', `/v1/campaigns/${ghost}/activate`, {}],
      ['operations.read', 'analytics', 'GET', '/v1/console/dlq'],
      ['customers.read', 'analytics', 'GET', `/v1/console/customers/${ghost}`],
      ['session.read', 'analytics', 'GET', '/v1/console/session'],
    ];
    const wrong: string[] = [];
    for (const role of ROLES)
      for (const [permission, service, method, path, body] of requests) {
        const response = await send(service, method, path, keyOf[role], body);
        const text = await response.text();
        const allowed = allows([role], permission);
        if (allowed ? response.status === 401 || response.status === 403 : response.status !== 403)
          wrong.push(`${role} ${method} ${service}${path}: ${response.status} ${text}`);
        if (!allowed) {
          const error = (JSON.parse(text) as ErrorReply).error;
          if (error.code !== 'FORBIDDEN' || !error.message?.includes(`may not ${permission}`))
            wrong.push(`${role} ${path}: ${text}`);
        }
      }
    assert.deepEqual(wrong, []);
    assert.ok((await refusals('analytics', 'forbidden')) > 0);
  });

  it('audits campaign changes with the verified caller; a marketer cannot activate, an approver can', async () => {
    const id = `t${run}-auth`;
    const source = readFileSync(projectPath('campaigns', 'examples', 'bundang-dad-beer.yaml'), 'utf8')
      .replace(/^id: .*$/m, `id: ${id}`)
      // a store no event names: the campaign decides nothing for other tests sharing the keyspace
      .replace(
        /^trigger: .*$/m,
        `trigger: { types: [purchase], channels: [pos], stores: [t${run}-nowhere] }`,
      );
    const created = await send('analytics', 'POST', '/v1/campaigns', keyOf.marketer, { source });
    assert.equal(created.status, 201, await created.clone().text());
    const refused = await refusal(
      await send('analytics', 'POST', `/v1/campaigns/${id}/activate`, keyOf.marketer, {}),
      403,
    );
    assert.match(refused.message ?? '', /needs one of approver, admin/);
    const draft = (await (await send('analytics', 'GET', `/v1/campaigns/${id}`, keyOf.analyst)).json()) as {
      status: string;
      current?: unknown;
    };
    assert.equal(draft.current, undefined, 'the refused activation changed nothing');
    const activated = await send('analytics', 'POST', `/v1/campaigns/${id}/activate`, keyOf.approver, {});
    assert.equal(activated.status, 200, await activated.clone().text());

    const rows = (await auditRows()).filter((r) => r.target === id);
    const marketerId = keyOf.marketer.slice(3, 15);
    const approverId = keyOf.approver.slice(3, 15);
    assert.deepEqual(
      rows.map((r) => [r.action, r.actor, r.actorKind, r.roles, r.outcome]).reverse(),
      [
        [
          'campaigns.draft POST /v1/campaigns',
          `t${run} marketer (key ${marketerId})`,
          'key',
          ['marketer'],
          201,
        ],
        [
          'campaigns.activate POST /v1/campaigns/:id/activate',
          `t${run} approver (key ${approverId})`,
          'key',
          ['approver'],
          200,
        ],
      ],
      'one row per change, none for the refused attempt',
    );
    const history = (await (
      await send('analytics', 'GET', `/v1/campaigns/${id}/history`, keyOf.analyst)
    ).json()) as { changes: Array<{ actor: { name: string; verified: boolean } }> };
    assert.ok(history.changes.length >= 2, JSON.stringify(history));
    for (const entry of history.changes) assert.equal(entry.actor.verified, true, JSON.stringify(entry));
  });

  it("runs the campaign commands over HTTP (NUNCHI_API_URL) without the database, held to the key's role and audited by the service", async () => {
    const id = `t${run}-cli`;
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-cli-http-'));
    const file = join(dir, `${id}.yaml`);
    writeFileSync(
      file,
      readFileSync(projectPath('campaigns', 'examples', 'bundang-dad-beer.yaml'), 'utf8')
        .replace(/^id: .*$/m, `id: ${id}`)
        // a store no event names: the campaign decides nothing for other tests sharing the keyspace
        .replace(
          /^trigger: .*$/m,
          `trigger: { types: [purchase], channels: [pos], stores: [t${run}-nowhere] }`,
        ),
    );
    // No database: a contact point nothing listens on. Every command below that succeeds went through the
    // HTTP API.
    const overHttp = (role: Role, ...args: string[]) =>
      runCli(args, {
        NUNCHI_API_URL: h.services.urls.analytics,
        NUNCHI_API_KEY: keyOf[role],
        CASSANDRA_CONTACT_POINTS: '127.0.0.1:1',
      });
    try {
      const drafted = await overHttp('marketer', 'campaigns', 'draft', file);
      assert.equal(drafted.code, 0, drafted.stderr);
      assert.match(drafted.stdout, new RegExp(`${id}: draft saved as revision 1 \\(a new campaign\\)`));
      // the stored draft checked by the service; a file checked locally, which needs no database either
      const validated = await overHttp('marketer', 'campaigns', 'validate', id);
      assert.equal(validated.code, 0, validated.stderr);
      assert.equal(validated.stdout.trim(), `${id}: valid`);
      const fileChecked = await runCli(['campaigns', 'validate', file], {
        CASSANDRA_CONTACT_POINTS: '127.0.0.1:1',
      });
      assert.equal(fileChecked.code, 0, fileChecked.stderr);
      assert.equal(fileChecked.stdout.trim(), `${id}: valid`);
      const refused = await overHttp('marketer', 'campaigns', 'activate', id);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /403 FORBIDDEN: .*needs one of approver, admin/);
      const activated = await overHttp('approver', 'campaigns', 'activate', id);
      assert.equal(activated.code, 0, activated.stderr);
      assert.match(
        activated.stdout,
        new RegExp(`${id}: draft revision 1 activated as version 1 \\((active|scheduled)\\)`),
      );
      const paused = await overHttp('approver', 'campaigns', 'pause', id);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, new RegExp(`${id}: paused \\(version 2\\)`));

      const listed = await overHttp('analyst', 'campaigns', 'list', '--state', 'paused');
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${id}\\s+.*\\s+paused\\s+v2\\s+.*\\d{4}-\\d{2}-\\d{2}T`));
      const shown = await overHttp('analyst', 'campaigns', 'show', id, '1');
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`^id: ${id}$`, 'm'));
      const diff = await overHttp('analyst', 'campaigns', 'diff', id, '1', '2');
      assert.equal(diff.code, 0, diff.stderr);
      // a pause changes the version's state, not its definition
      assert.match(diff.stdout, new RegExp(`^--- ${id} v1\tactive, applied .* by t${run} approver`, 'm'));
      assert.match(diff.stdout, new RegExp(`^\\+\\+\\+ ${id} v2\tpaused`, 'm'));
      assert.match(diff.stdout, /\(no differences\)/);
      const history = await overHttp('analyst', 'campaigns', 'history', id);
      assert.equal(history.code, 0, history.stderr);
      const approverId = keyOf.approver.slice(3, 15);
      assert.match(history.stdout, /v1 {2}active +\d{4}-\d{2}-\d{2}T/);
      assert.match(history.stdout, new RegExp(`pause .*t${run} approver \\(key ${approverId}\\)`));
      // campaign results too: nunchi stats asks GET /v1/stats with an analyst's key
      const report = await overHttp('analyst', 'stats', '--campaign', id);
      assert.equal(report.code, 0, report.stderr);
      assert.match(report.stdout, new RegExp(id));
      const all = await overHttp('analyst', 'stats', '--json');
      assert.equal(all.code, 0, all.stderr);
      assert.ok(Array.isArray((JSON.parse(all.stdout) as { campaigns: unknown }).campaigns), all.stdout);
      const unknown = await overHttp('analyst', 'stats', '--campaign', `t${run}-none`);
      assert.equal(unknown.code, 1, unknown.stderr);
      assert.match(unknown.stderr, new RegExp(`no campaign t${run}-none`));
      // the service wrote the audit log, one row per change made, with the verified callers
      const rows = (await auditRows()).filter((r) => r.target === id);
      assert.deepEqual(rows.map((r) => [r.action, r.roles, r.outcome]).reverse(), [
        ['campaigns.draft PUT /v1/campaigns/:id/draft', ['marketer'], 200],
        ['campaigns.activate POST /v1/campaigns/:id/activate', ['approver'], 200],
        ['campaigns.activate POST /v1/campaigns/:id/pause', ['approver'], 200],
      ]);
      // what the API has no form of, said before anything is sent; bad input, checked as locally
      const applied = await overHttp('admin', 'campaigns', 'apply', file);
      assert.equal(applied.code, 2, applied.stderr);
      assert.match(applied.stderr, /campaigns draft <file>, then nunchi campaigns activate <id>/);
      const badState = await overHttp('analyst', 'campaigns', 'list', '--state', 'sleeping');
      assert.equal(badState.code, 2, badState.stderr);
      // and without the API, the same commands need the database that is not there
      const local = await runCli(['campaigns', 'list'], { CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' });
      assert.notEqual(
        local.code,
        0,
        'the check above can fail: without NUNCHI_API_URL the CLI needs Cassandra',
      );
    } finally {
      await send('analytics', 'POST', `/v1/campaigns/${id}/end`, keyOf.admin, {}).catch(() => undefined);
    }
  });

  it('audits an erasure by a privacy officer, which an adapter cannot make', async () => {
    const customer = `t${run}-erased`;
    const accepted = await send(
      'ingestion',
      'POST',
      '/v1/events',
      keyOf.adapter,
      dadsPurchase(`t${run}-e1`, { id: customer }, `t${run}-store`, seoulTime('10:00')),
    );
    assert.equal(accepted.status, 200, await accepted.clone().text());
    await waitFor('the event in context', async () =>
      (await send('context', 'GET', `/v1/customers/${customer}/context`, keyOf.analyst)).status === 200
        ? true
        : undefined,
    );
    await refusal(await send('context', 'DELETE', `/v1/customers/${customer}`, keyOf.adapter), 403);
    assert.equal(
      (await send('context', 'GET', `/v1/customers/${customer}/context`, keyOf.analyst)).status,
      200,
      'still there',
    );
    const erased = await send('context', 'DELETE', `/v1/customers/${customer}`, keyOf['privacy-officer']);
    assert.equal(erased.status, 200, await erased.clone().text());
    const row = (await auditRows()).find((r) => r.target === customer);
    assert.equal(row?.action, 'customers.erase DELETE /v1/customers/:id');
    assert.deepEqual(row?.roles, ['privacy-officer']);
    assert.equal(row?.outcome, 200);
  });

  it('creates, lists and revokes keys with the CLI, audited; a revoked key is refused within the cache TTL', async () => {
    const created = await nunchi('keys', 'create', '--role', 'analyst', '--name', `t${run} cli`, '--json');
    assert.equal(created.code, 0, created.stderr);
    const { key, keyId } = JSON.parse(created.stdout) as { key: string; keyId: string };
    assert.equal((await send('analytics', 'GET', '/v1/stats', key)).status, 200);
    const listed = await nunchi('keys', 'list');
    assert.match(listed.stdout, new RegExp(`${keyId}\\s+analyst\\s+50/s\\s+t${run} cli`));
    assert.ok(!listed.stdout.includes(key.slice(16)), 'never the secret');
    assert.equal(
      (await nunchi('keys', 'create', '--role', 'boss', '--name', 'x')).code,
      2,
      'an unknown role is a usage error',
    );
    const revoked = await nunchi('keys', 'revoke', keyId);
    assert.equal(revoked.code, 0, revoked.stderr);
    const error = await waitFor(
      'the revocation seen',
      async () => {
        const response = await send('analytics', 'GET', '/v1/stats', key);
        return response.status === 401 ? ((await response.json()) as ErrorReply).error : undefined;
      },
      5_000,
    );
    assert.match(error.message ?? '', new RegExp(`API key ${keyId} was revoked`));
    const audit = await nunchi('audit', '--json');
    const rows = auditLines(audit.stdout, keyId);
    assert.deepEqual(rows.map((r) => [r.action, r.actor, r.actorKind]).reverse(), [
      ['keys.manage nunchi keys create', 'auth-e2e', 'cli'],
      ['keys.manage nunchi keys revoke', 'auth-e2e', 'cli'],
    ]);
  });

  it("creates, lists and revokes keys over HTTP for an admin only, audited, with the CLI's checks", async () => {
    // not an admin: refused, and nothing made
    await refusal(
      await send('analytics', 'POST', '/v1/keys', keyOf.operator, { role: 'analyst', name: `t${run} http` }),
      403,
    );
    await refusal(await send('analytics', 'GET', '/v1/keys', keyOf['privacy-officer']), 403);
    // the same checks as `nunchi keys create`, every problem by field
    const invalid = await refusal(
      await send('analytics', 'POST', '/v1/keys', keyOf.admin, {
        role: 'adapter',
        name: `t${run} http`,
        channels: ['system'],
        ratePerSecond: 0,
      }),
      400,
    );
    assert.equal(invalid.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      invalid.details?.map((d) => d.path),
      ['ratePerSecond', 'channels'],
    );
    assert.match(JSON.stringify(invalid.details), /"system\\" is reserved/);
    assert.equal(
      (
        await refusal(
          await send('analytics', 'POST', '/v1/keys', keyOf.admin, { role: 'boss', name: 'x' }),
          400,
        )
      ).details?.[0]?.path,
      'role',
    );
    const createdResponse = await send('analytics', 'POST', '/v1/keys', keyOf.admin, {
      role: 'adapter',
      name: `t${run} http`,
      channels: ['web'],
    });
    assert.equal(createdResponse.status, 201);
    const created = (await createdResponse.json()) as {
      key: string;
      keyId: string;
      role: string;
      ratePerSecond: number;
      channels: string[];
    };
    assert.deepEqual([created.role, created.ratePerSecond, created.channels], ['adapter', 2_000, ['web']]);
    const listed = (await (await send('analytics', 'GET', '/v1/keys', keyOf.admin)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    const mine = listed.keys.find((k) => k['keyId'] === created.keyId);
    assert.equal(mine?.['name'], `t${run} http`);
    assert.ok(!JSON.stringify(listed).includes(created.key.slice(16)), 'never a secret');
    // the new key works (its own channel) until revoked
    assert.equal((await send('analytics', 'GET', '/v1/console/session', created.key)).status, 200);
    await refusal(await send('analytics', 'POST', '/v1/keys/000000000000/revoke', keyOf.admin), 404);
    const revoked = await send('analytics', 'POST', `/v1/keys/${created.keyId}/revoke`, keyOf.admin);
    assert.equal(revoked.status, 200, await revoked.clone().text());
    await waitFor(
      'the revocation seen',
      async () =>
        (await send('analytics', 'GET', '/v1/console/session', created.key)).status === 401 || undefined,
      5_000,
    );
    const rows = (await auditRows()).filter((r) => r.target === created.keyId);
    assert.deepEqual(rows.map((r) => [r.action, r.outcome]).sort(), [
      ['keys.manage POST /v1/keys', 201],
      ['keys.manage POST /v1/keys/:keyId/revoke', 200],
    ]);
  });

  it("manages keys and reads the audit log from the CLI over HTTP (NUNCHI_API_URL), held to the key's role", async () => {
    const overHttp = (apiKey: string, ...args: string[]) =>
      runCli(args, {
        NUNCHI_ACTOR: 'auth-e2e',
        NUNCHI_API_URL: `${h.services.urls.analytics}/`,
        NUNCHI_API_KEY: apiKey,
      });
    const created = await overHttp(
      keyOf.admin,
      'keys',
      'create',
      '--role',
      'analyst',
      '--name',
      `t${run} api`,
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const { key, keyId, createdBy } = JSON.parse(created.stdout) as {
      key: string;
      keyId: string;
      createdBy: string;
    };
    assert.match(
      createdBy,
      new RegExp(`^t${run} admin \\(key [0-9a-f]{12}\\)$`),
      'made by the admin key, verified',
    );
    assert.equal((await send('analytics', 'GET', '/v1/stats', key)).status, 200);
    const listed = await overHttp(keyOf.admin, 'keys', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${keyId}\\s+analyst\\s+50/s\\s+t${run} api`));
    // the CLI's own checks before anything is sent, with its flags' names
    const invalid = await overHttp(keyOf.admin, 'keys', 'create', '--role', 'adapter', '--name', 'x');
    assert.equal(invalid.code, 2, invalid.stderr);
    assert.match(invalid.stderr, /--channel/);
    // the key's role: an operator may neither list nor make keys, a marketer may not read the audit log
    const forbidden = await overHttp(keyOf.operator, 'keys', 'list');
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /GET http:\/\/\S+\/v1\/keys: 403 FORBIDDEN/);
    assert.equal((await overHttp(keyOf.marketer, 'audit')).code, 1);
    assert.equal((await overHttp(keyOf.admin, 'keys', 'revoke', '000000000000')).code, 2, 'no such key');
    const revoked = await overHttp(keyOf.admin, 'keys', 'revoke', keyId);
    assert.equal(revoked.code, 0, revoked.stderr);
    // the service wrote the audit log with the verified caller; a privacy officer reads it over HTTP too
    const audit = await overHttp(keyOf['privacy-officer'], 'audit', '--json');
    assert.equal(audit.code, 0, audit.stderr);
    const rows = auditLines(audit.stdout, keyId);
    assert.deepEqual(rows.map((r) => [r.action, r.actorKind, r.outcome]).reverse(), [
      ['keys.manage POST /v1/keys', 'key', 201],
      ['keys.manage POST /v1/keys/:keyId/revoke', 'key', 200],
    ]);
    // a URL without a key, an unreachable service, a day that does not exist: said, nothing done
    const keyless = await overHttp('', 'keys', 'list');
    assert.equal(keyless.code, 2);
    assert.match(keyless.stderr, /set NUNCHI_API_KEY/);
    const unreachable = await runCli(['audit'], {
      NUNCHI_API_URL: 'http://127.0.0.1:1',
      NUNCHI_API_KEY: keyOf.admin,
    });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the HTTP API at http:\/\/127\.0\.0\.1:1\/v1\/audit/);
    const badDay = await refusal(
      await send('analytics', 'GET', '/v1/audit?day=2026-02-30', keyOf.admin),
      400,
    );
    assert.equal(badDay.details?.[0]?.path, 'day');
    await refusal(await send('analytics', 'GET', '/v1/audit?days=367', keyOf.admin), 400);
  });

  it("binds an adapter's key to its channels: another channel's event is refused (422 on channel, kept in the DLQ), its own taken", async () => {
    assert.equal(
      (await nunchi('keys', 'create', '--role', 'adapter', '--name', `t${run} unbound`)).code,
      2,
      'an adapter key without --channel is a usage error',
    );
    assert.equal(
      (await nunchi('keys', 'create', '--role', 'analyst', '--name', 'x', '--channel', 'pos')).code,
      2,
      '--channel on a role that sends no events is a usage error',
    );
    const created = await nunchi(
      'keys',
      'create',
      '--role',
      'adapter',
      '--name',
      `t${run} till gateway`,
      '--channel',
      'pos',
      '--channel',
      'kiosk',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const { key, keyId, channels } = JSON.parse(created.stdout) as {
      key: string;
      keyId: string;
      channels: string[];
    };
    assert.deepEqual(channels, ['kiosk', 'pos']);
    assert.match((await nunchi('keys', 'list')).stdout, new RegExp(`${keyId}\\s+adapter .*\\[kiosk, pos\\]`));

    const customer = { loyaltyCard: `LC-t${run}-chan` };
    const own = await send(
      'ingestion',
      'POST',
      '/v1/events',
      key,
      dadsPurchase(`t${run}-chan-pos`, customer, 'bundang-01', seoulTime('10:00')),
    );
    assert.equal(own.status, 200, await own.clone().text());
    const foreign = {
      ...dadsPurchase(`t${run}-chan-web`, customer, 'bundang-01', seoulTime('10:00')),
      channel: 'web',
    };
    const error = await refusal(await send('ingestion', 'POST', '/v1/events', key, foreign), 422);
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      error.details?.map((d) => [d.path, d.message]),
      [['channel', '"web" is not a channel this API key may send for (kiosk, pos)']],
    );
    // In a batch, item by item.
    const batch = await send('ingestion', 'POST', '/v1/events', key, [
      { ...foreign, id: `t${run}-chan-web2` },
      dadsPurchase(`t${run}-chan-pos2`, customer, 'bundang-01', seoulTime('10:00')),
    ]);
    const { results } = (await batch.json()) as {
      results: { ok: boolean; error?: { details: { path: string }[] } }[];
    };
    assert.deepEqual(
      results.map((r) => r.ok),
      [false, true],
    );
    assert.equal(results[0]?.error?.details[0]?.path, 'channel');
    // An unbound key (made before keys named their channels, as the other adapter keys here) sends for any.
    const unbound = await send('ingestion', 'POST', '/v1/events', keyOf.adapter, {
      ...foreign,
      id: `t${run}-chan-web3`,
    });
    assert.equal(unbound.status, 200, await unbound.clone().text());
    // The refused event is kept in the DLQ with its reason.
    await waitFor(
      'the refusal in the DLQ',
      async () => {
        const dlq = await nunchi('dlq', 'list', '--stage', 'ingestion', '--json');
        return dlq.stdout.includes('is not a channel this API key may send for (kiosk, pos)') || undefined;
      },
      15_000,
    );
  });

  it('audits a DLQ replay made with the CLI', async () => {
    // Invalid (no customer), but with a channel and a type: the replay can choose the door's subject.
    const rejected = await send('ingestion', 'POST', '/v1/events', keyOf.adapter, {
      id: `t${run}-bad`,
      type: 'purchase',
      channel: 'pos',
    });
    assert.equal(rejected.status, 422);
    const replayed = await nunchi('dlq', 'replay', '--stage', 'ingestion');
    // 3: replayed, and the entry (still invalid) rejected again
    assert.equal(replayed.code, 3, `${replayed.stdout}\n${replayed.stderr}`);
    const row = (await auditRows()).find(
      (r) => r.action === 'dlq.replay nunchi dlq replay' && r.actor === 'auth-e2e',
    );
    assert.ok(row, 'a dlq.replay row');
    assert.equal(row.target, 'ingestion');
  });

  it('refuses an expired key', async () => {
    const expired = await new ApiKeyRepository(h.cql).create(
      {
        name: `t${run} old`,
        role: 'admin',
        ratePerSecond: 100,
        createdBy: 'test',
        expiresAtMs: Date.now() - 1_000,
      },
      Date.now() - 60_000,
    );
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', expired.key), 401)).message ?? '',
      /expired at/,
    );
  });

  it("verifies people's tokens: roles from the claim; expired, foreign-signed or wrong-audience tokens are 401", async () => {
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: `t${run}-kim`,
      name: 'Kim',
      roles: ['analyst', 'not-a-nunchi-role'],
      exp: nowS() + 300,
    };
    const token = jwt(provider.privateKey, claims);
    assert.equal((await send('analytics', 'GET', '/v1/stats', token)).status, 200);
    const session = (await (await send('analytics', 'GET', '/v1/console/session', token)).json()) as {
      kind: string;
      name: string;
      roles: string[];
    };
    assert.deepEqual(session, { kind: 'token', id: `t${run}-kim`, name: 'Kim', roles: ['analyst'] });
    assert.match(
      (await refusal(await send('analytics', 'POST', `/v1/campaigns/t${run}-x/activate`, token, {}), 403))
        .message ?? '',
      /Kim \(t.*-kim\) \(analyst\) may not campaigns.activate/,
    );
    const expired = jwt(provider.privateKey, { ...claims, exp: nowS() - 120 });
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', expired), 401)).message ?? '',
      /token expired at/,
    );
    assert.match(
      (await refusal(await send('analytics', 'GET', '/v1/stats', jwt(stranger.privateKey, claims)), 401))
        .message ?? '',
      /signature does not verify/,
    );
    assert.match(
      (
        await refusal(
          await send('analytics', 'GET', '/v1/stats', jwt(provider.privateKey, { ...claims, aud: 'other' })),
          401,
        )
      ).message ?? '',
      /audience/,
    );
    assert.match(
      (
        await refusal(
          await send('analytics', 'GET', '/v1/stats', jwt(provider.privateKey, claims, 'k9')),
          401,
        )
      ).message ?? '',
      /kid k9/,
    );
    assert.ok((await refusals('analytics', 'expired_token')) >= 1);
  });

  it("answers 429 with Retry-After past a key's rate, counted, and serves it again once the bucket refills", async () => {
    const slow = await new ApiKeyRepository(h.cql).create(
      { name: `t${run} slow`, role: 'analyst', ratePerSecond: 2, createdBy: 'test' },
      Date.now(),
    );
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 14; i++) {
      const response = await send('decision', 'GET', '/v1/campaigns', slow.key);
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.body?.cancel();
    }
    assert.ok(
      statuses.slice(0, 10).every((s) => s === 200),
      statuses.join(),
    );
    assert.ok(limited, statuses.join());
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await refusal(limited, 429)).code, 'RATE_LIMITED');
    assert.ok((await refusals('decision', 'rate_limited')) >= 1);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await send('decision', 'GET', '/v1/campaigns', slow.key)).status, 200);
  });

  it('logs the console in with a cookie; a change by cookie alone (no X-Nunchi-Actor) is refused', async () => {
    const login = await send('analytics', 'POST', '/v1/console/session', undefined, {
      credential: keyOf.marketer,
    });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    assert.match(login.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.equal((await send('analytics', 'GET', '/v1/stats', undefined, undefined, { cookie })).status, 200);
    const forged = await send(
      'analytics',
      'PUT',
      `/v1/campaigns/t${run}-cookie/draft`,
      undefined,
      { source: '' },
      { cookie },
    );
    assert.match((await refusal(forged, 403)).message ?? '', /x-nunchi-actor/);
    await refusal(
      await send('analytics', 'POST', '/v1/console/session', undefined, { credential: 'nk_nope' }),
      401,
    );
  });
});
