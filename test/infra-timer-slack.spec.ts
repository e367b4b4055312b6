import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';

/** scripts/infra.mjs withTimerSlack: how the local Cassandra node is launched (docs/infrastructure.md). */
describe("the Cassandra node's timer slack (scripts/infra.mjs)", () => {
  const load = async () =>
    (await import(pathToFileURL(join(projectPath('scripts'), 'infra.mjs')).href)) as {
      withTimerSlack(bin: string, args: string[], slackNs: number): { bin: string; args: string[] };
      readConfig(env: Record<string, string>): { cassandra: { timerSlackNs: number } };
    };

  it('starts the program with that slack, inherited by what it starts, and its arguments as given', async () => {
    const { withTimerSlack } = await load();
    const launch = withTimerSlack(
      '/bin/sh',
      ['-c', 'cat /proc/self/timerslack_ns; echo "$0"', 'two words'],
      750_000,
    );
    assert.deepEqual(execFileSync(launch.bin, launch.args, { encoding: 'utf8' }).trim().split('\n'), [
      '750000',
      'two words',
    ]);
    assert.deepEqual(withTimerSlack('java', ['-x'], 0), { bin: 'java', args: ['-x'] }, '0: as it is');
  });

  it('is 1 ms unless CASSANDRA_TIMER_SLACK_NS says otherwise', async () => {
    const { readConfig } = await load();
    assert.equal(readConfig({}).cassandra.timerSlackNs, 1_000_000);
    assert.equal(readConfig({ CASSANDRA_TIMER_SLACK_NS: '0' }).cassandra.timerSlackNs, 0);
  });
});
