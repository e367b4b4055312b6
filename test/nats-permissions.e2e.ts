import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, nkeyAuthenticator, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig, projectPath } from '@nunchi/config';
import { Subjects, type IngestReply, type OfferMessage } from '@nunchi/contracts/core';
import { connectNats, decodeJson, encodeJson, inboxOf, NatsUnavailableError } from '@nunchi/messaging';
import { startNatsServer, type TestNatsServer } from '@nunchi/testing';
import { Resources } from '../apps/cli/src/resources.js';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { applyStreamLayout } from '../apps/cli/src/commands/streams.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { ensureNatsAuth } from '../tools/nats-auth.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { dadsPurchase, dadRunId, seoulTime, waitFor } from './support/harness.js';

/**
 * NATS identities and permissions (libs/messaging nats-accounts.ts) on a nats-server of the test's own, started
 * with the configuration the project generates for every server it starts (tools/nats-auth.ts: nkeys, in a
 * directory of the test's own): every identity is refused outside its subjects — an adapter cannot forge an
 * offer, inject an event past validation, read a profile or delete a stream — a wrong or missing seed stops a
 * process at start with a message naming what to check, and the four services, each with its own identity,
 * still take an event from an adapter to an offer, with no permission violation. (The rest of the suite runs on
 * the test runner's server, configured the same way: scripts/test.mjs.)
 */
const auth = ensureNatsAuth({
  dir: mkdtempSync(join(tmpdir(), 'nunchi-nats-auth-')),
  channels: ['pos', 'web'],
});
const seedOf = (user: string) => readFileSync(auth.seedFile(user), 'utf8').trim();
const PROBE_MS = 250;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('NATS permissions (own nats-server with the generated configuration)', () => {
  let server: TestNatsServer;
  const connections = new Map<string, NatsConnection>();
  const connectAs = (user: string): Promise<NatsConnection> =>
    connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(seedOf(user))),
      inboxPrefix: `_INBOX_${user}`,
    });
  /** `user`'s connection, shared by the probes */
  const as = async (user: string): Promise<NatsConnection> => {
    let nc = connections.get(user);
    if (!nc) {
      nc = await connectAs(user);
      connections.set(user, nc);
    }
    return nc;
  };

  before(async () => {
    server = await startNatsServer({ config: auth.serverConfig({ storeDir: '{{store}}' }) });
  });
  after(async () => {
    for (const nc of connections.values()) await nc.close();
    await server?.stop();
  });

  /** Whether a message `user` publishes on `subject` reaches a subscriber (the operator may read anything). */
  const canPublish = async (user: string, subject: string): Promise<boolean> => {
    const operator = await as('operator');
    const marker = randomBytes(8).toString('hex');
    let seen = false;
    const sub = operator.subscribe(subject, {
      callback: (_e, m) => {
        if (m.string() === marker) seen = true;
      },
    });
    await operator.flush();
    const nc = await as(user);
    nc.publish(subject, marker);
    await nc.flush();
    await new Promise((r) => setTimeout(r, PROBE_MS));
    sub.unsubscribe();
    return seen;
  };

  /** Whether `user` receives what the operator publishes on `subject`. */
  const canSubscribe = async (user: string, subject: string, sample = subject): Promise<boolean> => {
    const nc = await as(user);
    let seen = false;
    const sub = nc.subscribe(subject, {
      callback: (e) => {
        if (!e) seen = true;
      },
    });
    await nc.flush();
    const operator = await as('operator');
    operator.publish(sample, 'x');
    await operator.flush();
    await new Promise((r) => setTimeout(r, PROBE_MS));
    sub.unsubscribe();
    return seen;
  };

  it('lets an adapter send its own channel and read its own offers, and nothing else', async () => {
    const pos = 'adapter-pos';
    assert.equal(await canPublish(pos, Subjects.inbound('pos', 'purchase')), true);
    assert.equal(await canSubscribe(pos, 'mkt.offers.pos.>', Subjects.offer('pos', 'bundang-01')), true);
    const refused: Array<[string, string]> = [
      ['send as another channel', Subjects.inbound('web', 'purchase')],
      ['forge an offer to a till', Subjects.offer('pos', 'bundang-01')],
      ['inject an event past validation', Subjects.event(0, 'purchase')],
      ['read a profile', Subjects.contextGet],
      ['forge a lease', Subjects.lease('context.partition.0')],
      ['forge a rate bucket of ingestion', Subjects.lease('ingestion.rate.pos')],
      ['delete a stream', '$JS.API.STREAM.DELETE.EVENTS'],
      ['create a stream', '$JS.API.STREAM.CREATE.EVIL'],
      ['purge a stream', '$JS.API.STREAM.PURGE.DLQ'],
      ['create a consumer on EVENTS', '$JS.API.CONSUMER.CREATE.EVENTS'],
      ['tell decision to reload', Subjects.campaignsChanged],
    ];
    for (const [what, subject] of refused)
      assert.equal(await canPublish(pos, subject), false, `${what}: ${subject}`);
    assert.equal(
      await canSubscribe(pos, 'mkt.offers.web.>', Subjects.offer('web', 'none')),
      false,
      "another channel's offers",
    );
    assert.equal(
      await canSubscribe(pos, Subjects.inboundAll, Subjects.inbound('web', 'visit')),
      false,
      "other adapters' events",
    );
    assert.equal(
      await canSubscribe(pos, inboxOf('operator'), '_INBOX_operator.x'),
      false,
      "another identity's replies",
    );
    assert.equal(
      await canSubscribe(pos, Subjects.contextGet, Subjects.contextGet),
      false,
      'answer profile reads in the place of context',
    );
    // asked outright, a profile read is refused by the server, not answered
    const till = await as(pos);
    await assert.rejects(
      till.request(Subjects.contextGet, encodeJson({ customerId: 'c-1' }), { timeout: 2_000 }),
      (e: Error) => /permission|no responders|timeout/i.test(`${e.message} ${String(e.cause)}`),
    );
  });

  it('keeps the web adapter to its channel too: no till offers, no pos events', async () => {
    assert.equal(await canPublish('adapter-web', Subjects.inbound('web', 'page_view')), true);
    assert.equal(await canPublish('adapter-web', Subjects.inbound('pos', 'purchase')), false);
    assert.equal(await canPublish('adapter-web', Subjects.offerToSession('web', 'x')), false);
    assert.equal(
      await canSubscribe('adapter-web', 'mkt.offers.pos.>', Subjects.offer('pos', 'bundang-01')),
      false,
    );
  });

  it('keeps each service to its part: ingestion cannot publish offers, analytics publishes nothing of the pipeline', async () => {
    const cases: Array<[string, string, boolean]> = [
      ['ingestion', Subjects.event(3, 'visit'), true],
      ['ingestion', Subjects.offer('pos', 'bundang-01'), false],
      ['ingestion', Subjects.enriched(3), false],
      ['ingestion', '$JS.API.STREAM.DELETE.EVENTS', false],
      ['ingestion', Subjects.dlqReplayed, false],
      ['ingestion', Subjects.dlq('decision'), false],
      // the adapters' shared rate buckets (LEASES KV: docs/security.md), its own and no one else's
      ['ingestion', Subjects.lease('ingestion.rate.pos'), true],
      ['ingestion', Subjects.lease('context.partition.0'), false],
      ['context', Subjects.lease('ingestion.rate.pos'), false],
      ['ingestion', '$JS.API.STREAM.CREATE.EVENTS', false],
      ['context', '$JS.API.STREAM.DELETE.ENRICHED', false],
      ['decision', '$JS.API.STREAM.PURGE.DECISIONS', false],
      ['context', Subjects.enriched(3), true],
      ['context', Subjects.offer('pos', 'bundang-01'), false],
      // a merge's steps and the events of a customer merged away go on to the survivor (docs/identity.md)
      ['context', Subjects.event(3, 'visit'), true],
      ['decision', Subjects.offer('pos', 'bundang-01'), true],
      ['decision', Subjects.decision('bundang-dad-beer'), true],
      ['decision', Subjects.event(3, 'visit'), false],
      ['decision', Subjects.inbound('pos', 'visit'), false],
      ['decision', Subjects.lease('decision.partition.3'), true],
      ['decision', Subjects.lease('context.partition.3'), false],
      ['analytics', Subjects.decision('bundang-dad-beer'), false],
      ['analytics', Subjects.offer('pos', 'bundang-01'), false],
      ['analytics', '$JS.API.STREAM.PURGE.EVENTS', false],
      ['analytics', Subjects.campaignsChanged, true],
      // the console's DLQ page reads entries back (read-only), but not the partition leases
      ['analytics', '$JS.API.STREAM.MSG.GET.DLQ', true],
      ['analytics', '$JS.API.STREAM.MSG.GET.LEASES', false],
      ['context', Subjects.campaignsChanged, false],
      // a rewind found by one consumer, told to every process consuming that stream (and only to them)
      ['context', Subjects.streamRewound('EVENTS'), true],
      ['context', Subjects.streamRewound('ENRICHED'), false],
      ['decision', Subjects.streamRewound('ENRICHED'), true],
      ['analytics', Subjects.streamRewound('DECISIONS'), true],
      ['ingestion', Subjects.streamRewound('EVENTS'), false],
    ];
    for (const [user, subject, allowed] of cases)
      assert.equal(await canPublish(user, subject), allowed, `${user} publish ${subject}`);
    assert.equal(await canSubscribe('ingestion', Subjects.offersAll, Subjects.offer('pos', 'x')), false);
    assert.equal(await canSubscribe('context', Subjects.contextGet), true);
    assert.equal(await canSubscribe('context', Subjects.campaignsChanged), true, 'reloads on the hint');
    assert.equal(await canSubscribe('decision', Subjects.contextGet), false);
    assert.equal(await canSubscribe('decision', Subjects.streamRewound('ENRICHED')), true);
    assert.equal(await canSubscribe('decision', Subjects.streamRewound('EVENTS')), false);
  });

  it('refuses a wrong seed, a missing one and a corrupt one, naming what to check', async () => {
    const connectAs = (env: Record<string, string>) =>
      connectNats(
        loadConfig('cli', {
          NATS_URL: server.url,
          OTEL_TRACES_EXPORTER: 'none',
          NUNCHI_NATS_AUTH_DIR: 'off',
          ...env,
        }).nats,
        'wrong-credentials',
      );
    const unknown = new TextDecoder().decode(nkeys.createUser().getSeed());
    await assert.rejects(connectAs({ NATS_USER: 'decision', NATS_NKEY_SEED: unknown }), (e: unknown) => {
      assert.ok(e instanceof NatsUnavailableError);
      assert.match(e.message, /as decision: .*Check NATS_USER and the nkey seed \(NATS_NKEY_SEED\)/);
      return true;
    });
    await assert.rejects(connectAs({}), (e: unknown) => {
      assert.ok(e instanceof NatsUnavailableError);
      assert.match(e.message, /The server needs credentials: set NATS_USER with NATS_NKEY_SEED_FILE/);
      return true;
    });
    // the format passes config's check, the checksum does not: caught before any connection. A
    // middle character, since the last one of 58 base32 characters carries 2 unused bits — changing
    // it can leave the decoded bytes, and so the checksum, the same (this test failed so in CI).
    const seed = seedOf('decision');
    const corrupt = seed.slice(0, 20) + (seed[20] === 'A' ? 'B' : 'A') + seed.slice(21);
    await assert.rejects(connectAs({ NATS_USER: 'decision', NATS_NKEY_SEED: corrupt }), (e: unknown) => {
      assert.ok(e instanceof NatsUnavailableError);
      assert.match(e.message, /nkey seed of decision \(NATS_NKEY_SEED\) is not a valid user seed/);
      return true;
    });
  });

  it("stops a service started with another identity's seed at start, saying why", async () => {
    const lines: string[] = [];
    const file = join(auth.dir, 'stolen.nk');
    writeFileSync(file, `${new TextDecoder().decode(nkeys.createUser().getSeed())}\n`, { mode: 0o600 });
    await assert.rejects(
      startServices({
        services: ['ingestion'],
        env: {
          NATS_URL: server.url,
          NUNCHI_INGESTION_PORT: String(Number(process.env['NUNCHI_INGESTION_PORT'] ?? 3101) + 90),
        },
        envOf: () => ({ NATS_USER: 'ingestion', NATS_NKEY_SEED_FILE: file }),
        log: (_s, line) => void lines.push(line),
        readyTimeoutMs: 30_000,
      }),
      /ingestion exited during start-up/,
    );
    assert.match(
      lines.join('\n'),
      /as ingestion: .*Authorization Violation.*Check NATS_USER and the nkey seed/s,
    );
  });

  it("lets only servers with the routes' own credentials join a cluster", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const route = auth.routeCredentials();
    const member = (i: number, password = route.password) =>
      startNatsServer({
        config: auth.serverConfig({
          storeDir: '{{store}}',
          serverName: `route-test-${i}`,
          cluster: {
            name: 'route-test',
            listen: `127.0.0.1:${ports[i]}`,
            routes: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
            user: route.user,
            password,
          },
        }),
      });
    const servers = [await member(0), await member(1), await member(2, 'not-the-route-password')];
    const clients: NatsConnection[] = [];
    try {
      for (const server of servers)
        clients.push(
          await connect({
            servers: server.url,
            authenticator: nkeyAuthenticator(new TextEncoder().encode(seedOf('operator'))),
            inboxPrefix: '_INBOX_operator',
          }),
        );
      /** whether what the operator publishes on server 0 reaches a subscriber on server i */
      const reaches = async (i: number): Promise<boolean> => {
        const subject = `route.test.${randomBytes(4).toString('hex')}`;
        let seen = false;
        clients[i].subscribe(subject, {
          callback: () => {
            seen = true;
          },
        });
        await clients[i].flush();
        // interest travels over the route; publish a few times while it does
        for (let k = 0; k < 10 && !seen; k++) {
          clients[0].publish(subject, 'x');
          await clients[0].flush();
          await new Promise((r) => setTimeout(r, 300));
        }
        return seen;
      };
      await waitFor('the two members routed to each other', async () =>
        (await reaches(1)) ? true : undefined,
      );
      assert.equal(await reaches(2), false, 'a server with a wrong route password is no member');
      assert.match(servers[2].log(), /Authorization Violation/);
    } finally {
      for (const nc of clients) await nc.close();
      for (const server of servers) await server.stop();
    }
  });

  describe('the four services, each with its own identity', () => {
    let services: RunningServices;
    let operator: Resources;
    const logs: string[] = [];
    const run = dadRunId();
    const credentials = (user: string) => ({ NATS_USER: user, NATS_NKEY_SEED_FILE: auth.seedFile(user) });
    const env: Record<string, string> = {};
    /** where the server's log stood before the services started */
    let startLog = 0;

    before(async () => {
      // The probes above were refused on purpose; from the services' start on, nothing may be.
      startLog = server.log().length;
      const port = (name: string, offset: number) =>
        String(Number(process.env[`NUNCHI_${name}_PORT`] ?? 3100) + offset);
      Object.assign(env, {
        NATS_URL: server.url,
        // This test is about who may publish what, not about speed: the first event through services just
        // started (their first Cassandra statements prepared then) must not be recorded late — which sends no
        // offer — on a slow machine (fresh-clone CI failed here and nowhere else, undiagnosed: the failure now
        // prints the event's decision).
        NUNCHI_SLA_MS: '30000',
        NUNCHI_INGESTION_PORT: port('INGESTION', 80),
        NUNCHI_CONTEXT_PORT: port('CONTEXT', 80),
        NUNCHI_DECISION_PORT: port('DECISION', 80),
        NUNCHI_ANALYTICS_PORT: port('ANALYTICS', 80),
      });
      // The operator lays the streams out (the migration step); the services may only read the layout.
      operator = new Resources({ ...process.env, ...env, ...credentials('operator') });
      await applyStreamLayout(operator);
      services = await startServices({
        env,
        envOf: (service) => credentials(service),
        log: (service, line) => void logs.push(`${service} ${line}`),
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${logs.slice(-30).join('\n')}\n${server.log()}`);
      });
    });
    after(async () => {
      await services?.stop();
      await operator?.close();
    });

    it('take an event from the pos adapter to an offer on its channel, with no permission violation', async (t) => {
      const card = `LC-${run}`;
      const file = join(mkdtempSync(join(tmpdir(), 'nunchi-acl-')), 'customers.ndjson');
      writeFileSync(
        file,
        JSON.stringify({
          id: `t${run}-dad`,
          age: 35,
          gender: 'M',
          region: 'Bundang',
          creditTier: 'A',
          loyaltyCard: card,
        }) + '\n',
      );
      await importCustomers(operator, file, { quiet: true });
      await applyCampaign(operator, projectPath('campaigns', 'examples', 'bundang-dad-beer.yaml'));
      await waitFor('the campaign loaded', async () => {
        const body = await (await fetch(`${services.urls.decision}/v1/campaigns`)).json();
        return JSON.stringify(body).includes('bundang-dad-beer') ? true : undefined;
      });

      // a connection of its own, not the one the probes above were refused on
      const till = await connectAs('adapter-pos');
      t.after(() => till.close());
      const offers: OfferMessage[] = [];
      till.subscribe('mkt.offers.pos.>', {
        callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
      });
      await till.flush();
      const event = dadsPurchase(`t${run}-e1`, { loyaltyCard: card }, 'bundang-01', seoulTime('19:05'));
      const reply = decodeJson(
        (await till.request(Subjects.inbound('pos', 'purchase'), encodeJson(event), { timeout: 10_000 }))
          .data,
      ) as IngestReply;
      assert.ok(reply.ok, JSON.stringify(reply));
      // 30 s: the first event of services just started, on a node just started (fresh-clone CI) — a new
      // customer's data key is created then (a lightweight transaction) — once took longer than 15 s
      const offer = await waitFor(
        'the offer on mkt.offers.pos.>',
        () => Promise.resolve(offers.find((o) => o.eventId === event.id)),
        30_000,
      ).catch(async (error: Error) => {
        const decision = await fetch(`${services.urls.decision}/v1/events/${event.id}/decision?channel=pos`)
          .then((r) => r.text())
          .catch((e: Error) => e.message);
        throw new Error(
          `${error.message}\nthe event's decision: ${decision}\n${logs.slice(-60).join('\n')}\n${server.log().slice(startLog)}`,
        );
      });
      assert.equal(offer.campaignId, 'bundang-dad-beer');
      const violations = server
        .log()
        .slice(startLog)
        .split('\n')
        .filter((l) => /Violation/.test(l));
      assert.deepEqual(violations, [], 'no identity was refused on the way');
    });
  });
});
