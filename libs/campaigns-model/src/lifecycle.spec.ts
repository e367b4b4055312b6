import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowedActions,
  LifecycleError,
  statusOf,
  transition,
  type LifecycleAction,
  type LifecycleView,
  type Transition,
  type VersionState,
} from './lifecycle.js';

const view = (state: VersionState | undefined, hasDraft = false, latestVersion?: number): LifecycleView => ({
  campaignId: 'c1',
  state,
  hasDraft,
  latestVersion: latestVersion ?? (state ? 3 : undefined),
});

/** What an action does, or "refused: <message>" / "not_found: <message>". */
function outcome(action: LifecycleAction, v: LifecycleView, options = {}): string {
  try {
    const t: Transition = transition(action, v, options);
    return t.kind === 'draft' ? 'draft' : `${t.kind} ${t.state}`;
  } catch (error) {
    assert.ok(error instanceof LifecycleError, String(error));
    assert.equal(error.action, action);
    assert.equal(error.campaignId, 'c1');
    return `${error.refusal}: ${error.message}`;
  }
}

void describe('campaign lifecycle', () => {
  void it('the whole table: every action from every state (with and without a draft)', () => {
    const states = [undefined, 'active', 'paused', 'ended', 'archived'] as const;
    const actions = ['save-draft', 'discard-draft', 'activate', 'pause', 'resume', 'end', 'archive'] as const;
    const table: Record<string, Record<string, string>> = {};
    for (const state of states)
      for (const hasDraft of [false, true]) {
        const row = `${state ?? 'none'}${hasDraft ? '+draft' : ''}`;
        table[row] = {};
        for (const action of actions)
          table[row][action] = outcome(action, view(state, hasDraft)).split(':')[0];
      }
    // Reading guide: a row is the stored state (+draft: a working copy exists); "draft" means only the
    // working copy changes; "version X" stores a new version in state X; "unchanged X" is a harmless retry.
    assert.deepEqual(table, {
      none: {
        'save-draft': 'draft',
        'discard-draft': 'not_found',
        activate: 'not_found',
        pause: 'not_found',
        resume: 'not_found',
        end: 'not_found',
        archive: 'not_found',
      },
      'none+draft': {
        'save-draft': 'draft',
        'discard-draft': 'draft',
        activate: 'version active',
        pause: 'refused',
        resume: 'refused',
        end: 'refused',
        archive: 'refused',
      },
      active: {
        'save-draft': 'draft',
        'discard-draft': 'not_found',
        activate: 'not_found',
        pause: 'version paused',
        resume: 'unchanged active',
        end: 'version ended',
        archive: 'refused',
      },
      'active+draft': {
        'save-draft': 'draft',
        'discard-draft': 'draft',
        activate: 'version active',
        pause: 'version paused',
        resume: 'unchanged active',
        end: 'version ended',
        archive: 'refused',
      },
      paused: {
        'save-draft': 'draft',
        'discard-draft': 'not_found',
        activate: 'not_found',
        pause: 'unchanged paused',
        resume: 'version active',
        end: 'version ended',
        archive: 'refused',
      },
      'paused+draft': {
        'save-draft': 'draft',
        'discard-draft': 'draft',
        activate: 'version active',
        pause: 'unchanged paused',
        resume: 'version active',
        end: 'version ended',
        archive: 'refused',
      },
      ended: {
        'save-draft': 'refused',
        'discard-draft': 'not_found',
        activate: 'refused',
        pause: 'refused',
        resume: 'refused',
        end: 'unchanged ended',
        archive: 'version archived',
      },
      'ended+draft': {
        'save-draft': 'refused',
        'discard-draft': 'draft',
        activate: 'refused',
        pause: 'refused',
        resume: 'refused',
        end: 'unchanged ended',
        archive: 'version archived',
      },
      archived: {
        'save-draft': 'refused',
        'discard-draft': 'not_found',
        activate: 'refused',
        pause: 'refused',
        resume: 'refused',
        end: 'refused',
        archive: 'unchanged archived',
      },
      'archived+draft': {
        'save-draft': 'refused',
        'discard-draft': 'draft',
        activate: 'refused',
        pause: 'refused',
        resume: 'refused',
        end: 'refused',
        archive: 'unchanged archived',
      },
    });
  });

  void it('ending is final, and the message says so and what to do instead', () => {
    assert.equal(
      outcome('resume', view('ended')),
      'refused: c1 has ended and cannot be resumed: ending a campaign is final. Apply it under a new id to run it again.',
    );
    assert.match(
      outcome('save-draft', view('ended')),
      /c1 has ended and cannot be edited: ending a campaign is final/,
    );
    assert.match(
      outcome('pause', view(undefined, true)),
      /c1 is a draft that was never activated .* activate it first/,
    );
    assert.match(
      outcome('archive', view('paused')),
      /end it before archiving it \(nunchi campaigns end c1\)/,
    );
    assert.match(outcome('archive', view(undefined, true)), /discard it instead/);
    assert.equal(outcome('pause', view(undefined)), 'not_found: no campaign c1');
  });

  void it('apply (campaigns as code): a file without state keeps the stored one; ended stays ended', () => {
    assert.equal(outcome('apply', view(undefined)), 'version active');
    assert.equal(outcome('apply', view(undefined), { fileState: 'paused' }), 'version paused');
    assert.equal(outcome('apply', view('paused')), 'version paused');
    assert.equal(outcome('apply', view('paused'), { fileState: 'active' }), 'version active');
    assert.equal(outcome('apply', view('active'), { fileState: 'ended' }), 'version ended');
    assert.equal(outcome('apply', view('ended')), 'version ended', 'a typo fixed in an ended campaign');
    assert.match(
      outcome('apply', view('ended'), { fileState: 'active' }),
      /^refused: c1 has ended and cannot be applied as active: ending a campaign is final/,
    );
    assert.match(outcome('apply', view('archived')), /^refused: c1 is archived/);
    assert.match(
      outcome('apply', view('ended'), { fileState: 'archived' }),
      /^refused: .*cannot set state archived/,
    );
  });

  void it('rollback activates an existing earlier version as a new one, from active or paused only', () => {
    assert.equal(outcome('rollback', view('active', false, 3), { targetVersion: 1 }), 'version active');
    assert.equal(outcome('rollback', view('paused', false, 3), { targetVersion: 2 }), 'version active');
    assert.equal(
      outcome('rollback', view('active', false, 3), { targetVersion: 4 }),
      'not_found: campaign c1 has no version 4 (versions 1 to 3)',
    );
    assert.match(
      outcome('rollback', view('active', false, 3), { targetVersion: 0 }),
      /^not_found: .*no version 0/,
    );
    assert.match(outcome('rollback', view('active', false, 3), { targetVersion: 1.5 }), /^not_found/);
    assert.match(
      outcome('rollback', view('ended'), { targetVersion: 1 }),
      /^refused: c1 has ended and cannot be rolled back/,
    );
    assert.match(outcome('rollback', view(undefined, true), { targetVersion: 1 }), /never activated/);
  });

  void it('allowed actions are the ones that would change something', () => {
    assert.deepEqual(allowedActions(view(undefined, true)), [
      'save-draft',
      'discard-draft',
      'activate',
      'apply',
    ]);
    assert.deepEqual(allowedActions(view('active', false, 1)), ['save-draft', 'apply', 'pause', 'end']);
    assert.deepEqual(allowedActions(view('paused', true, 2)), [
      'save-draft',
      'discard-draft',
      'activate',
      'apply',
      'resume',
      'end',
      'rollback',
    ]);
    assert.deepEqual(allowedActions(view('ended')), ['apply', 'archive']);
    assert.deepEqual(allowedActions(view('archived')), []);
  });

  void it('status: draft without a version; scheduled while an active campaign has not reached its first day', () => {
    const nowMs = Date.parse('2026-11-30T16:00:00Z'); // 2026-12-01 01:00 in Seoul, still 11-30 in London
    assert.equal(statusOf(undefined, undefined, nowMs), 'draft');
    assert.equal(statusOf('active', { timezone: 'Asia/Seoul' }, nowMs), 'active');
    assert.equal(statusOf('active', { from: '2026-12-01', timezone: 'Asia/Seoul' }, nowMs), 'active');
    assert.equal(statusOf('active', { from: '2026-12-01', timezone: 'Europe/London' }, nowMs), 'scheduled');
    assert.equal(statusOf('paused', { from: '2027-01-01', timezone: 'Asia/Seoul' }, nowMs), 'paused');
    assert.equal(statusOf('ended', undefined, nowMs), 'ended');
  });
});
