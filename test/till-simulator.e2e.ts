import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { natsIdentityEnv, projectPath } from '@nunchi/config';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';

const exec = promisify(execFile);

/** The example adapter, run as its users run it: node dist/examples/till-simulator.js. */
describe('examples/till-simulator: a channel adapter on the NATS door', () => {
  let h: Harness;
  const run = runId();
  const campaign = `t${run}-till`;
  const store = `t${run}-store`;

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-till-'));
    const file = join(dir, 'campaign.yaml');
    // Any big basket at this test's store: no audience, no holdout, no hours, so the offer is certain.
    writeFileSync(
      file,
      [
        `id: ${campaign}`,
        'name: Till simulator test',
        'trigger: { types: [purchase], channels: [pos] }',
        `condition: "event.amount >= 100000 && event.storeId == '${store}'"`,
        'offers:',
        '  - { id: free-cola, title: A free cola, value: 1500 }',
        'priority: 99',
        'schedule: { timezone: Asia/Seoul }',
      ].join('\n'),
    );
    await applyCampaign(h.resources, file);
    await waitFor('the campaign to load', async () => {
      const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      };
      return body.loaded[campaign] ? true : undefined;
    });
  });
  after(async () => {
    if (h) await setCampaignState(h.resources, campaign, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('sends a store’s purchases, prints each answer and the offers that come back on mkt.offers.pos.<store>', async () => {
    const { stdout } = await exec(
      process.execPath,
      [
        projectPath('dist', 'examples', 'till-simulator.js'),
        '--store',
        store,
        '--rate',
        '10',
        '--count',
        '3',
        '--basket',
        'founding',
        '--customers',
        `LC-${run}-1`,
      ],
      {
        env: { ...process.env, NATS_URL: h.config.nats.url, ...natsIdentityEnv('adapter-pos') },
        timeout: 60_000,
      },
    );
    const lines = stdout.trim().split('\n');
    assert.equal(
      lines.filter((l) => /: 110,000 KRW stored, customer c-[0-9a-f]{24}$/.test(l)).length,
      3,
      stdout,
    );
    const offers = lines.filter((l) =>
      l.includes(`OFFER for LC-${run}-1: A free cola (worth 1,500 KRW, ${campaign}, decided in`),
    );
    assert.ok(offers.length >= 1, stdout);
    assert.match(
      lines.at(-1)!,
      new RegExp(`^sent 3, accepted 3, rejected 0, retried 0 times, offers ${offers.length}$`),
    );
  });

  it('refuses to start without a valid store', async () => {
    await assert.rejects(
      exec(process.execPath, [projectPath('dist', 'examples', 'till-simulator.js'), '--store', 'no spaces'], {
        env: { ...process.env, NATS_URL: h.config.nats.url },
      }),
      /must be 1-64 of/,
    );
  });
});
