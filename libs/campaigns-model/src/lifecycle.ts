import { localDay } from '@nunchi/context-model';

/**
 * The campaign lifecycle: which changes are allowed from which state. Pure: the use cases
 * (libs/operations) read the stored state, ask here, then store what this answers.
 *
 *   (new) ──save draft──▶ draft ──activate──▶ active ⇄ paused            (scheduled: active, before schedule.from)
 *                                              │ end      │ end
 *                                              ▼          ▼
 *                                             ended ──archive──▶ archived
 *
 * A campaign has immutable versions (each activation, state change or rollback stores one) and at most one
 * draft: a working copy that decision replicas never see (it lives in its own table), edited freely, then
 * activated as the next version. A live campaign can have a draft too (the next version being prepared).
 */

/** The state a stored version is in; decision replicas evaluate only `active` ones. */
export const VERSION_STATES = ['active', 'paused', 'ended', 'archived'] as const;
export type VersionState = (typeof VERSION_STATES)[number];

/**
 * What an operator sees: a version's state, `draft` for a campaign never activated, and `scheduled` for an
 * active one whose schedule has not begun yet (stored active: replicas hold it, its schedule keeps it quiet).
 * The common ones first: this is the order `--state` lists them in.
 */
export const CAMPAIGN_STATUSES = ['active', 'paused', 'ended', 'scheduled', 'draft', 'archived'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const LIFECYCLE_ACTIONS = [
  'save-draft',
  'discard-draft',
  'activate',
  'apply',
  'pause',
  'resume',
  'end',
  'archive',
  'rollback',
] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

/** What the lifecycle needs to know of a campaign. */
export interface LifecycleView {
  campaignId: string;
  /** state of the latest version; undefined when none was ever stored */
  state?: VersionState;
  /** number of the latest version; undefined when none was ever stored */
  latestVersion?: number;
  hasDraft: boolean;
}

/** What an allowed action does. */
export type Transition =
  /** store a new version in this state */
  | { kind: 'version'; state: VersionState }
  /** already in that state: nothing to store (a retried pause is not an error) */
  | { kind: 'unchanged'; state: VersionState }
  /** only the draft changes; no version, nothing reaches a decision replica */
  | { kind: 'draft' };

/** Why an action is refused: nothing to act on (`not_found`) or not allowed in this state (`refused`). */
export type LifecycleRefusal = 'not_found' | 'refused';

export class LifecycleError extends Error {
  override readonly name = 'LifecycleError';
  constructor(
    readonly campaignId: string,
    readonly action: LifecycleAction,
    readonly refusal: LifecycleRefusal,
    message: string,
  ) {
    super(message);
  }
}

export interface TransitionOptions {
  /** apply: the state the file sets, if any */
  fileState?: VersionState;
  /** rollback: the version to activate again */
  targetVersion?: number;
}

/** Present participles for messages: "cannot be paused". */
const PASSIVE: Record<LifecycleAction, string> = {
  'save-draft': 'edited',
  'discard-draft': 'discarded',
  activate: 'activated',
  apply: 'applied',
  pause: 'paused',
  resume: 'resumed',
  end: 'ended',
  archive: 'archived',
  rollback: 'rolled back',
};

/**
 * The transition `action` makes from `view`, or a LifecycleError saying why not and what to do instead.
 * Same-state requests (pause a paused campaign, end an ended one) are `unchanged`, so a retry is harmless.
 */
export function transition(
  action: LifecycleAction,
  view: LifecycleView,
  options: TransitionOptions = {},
): Transition {
  const { campaignId: id, state } = view;
  const refuse = (message: string, refusal: LifecycleRefusal = 'refused') => {
    throw new LifecycleError(id, action, refusal, message);
  };
  const ended = () =>
    refuse(
      `${id} has ended and cannot be ${PASSIVE[action]}: ending a campaign is final. Apply it under a new id to run it again.`,
    );
  const archived = () =>
    refuse(`${id} is archived and cannot be ${PASSIVE[action]}: archiving is final. Use a new id.`);
  const missing = () => refuse(`no campaign ${id}`, 'not_found');
  const neverActivated = () =>
    refuse(
      `${id} is a draft that was never activated and cannot be ${PASSIVE[action]}: activate it first (nunchi campaigns activate ${id})`,
    );

  switch (action) {
    case 'save-draft':
      if (state === 'ended') return ended();
      if (state === 'archived') return archived();
      return { kind: 'draft' };

    case 'discard-draft':
      if (!view.hasDraft) return refuse(`${id} has no draft`, 'not_found');
      return { kind: 'draft' };

    case 'activate':
      if (state === 'ended') return ended();
      if (state === 'archived') return archived();
      if (!view.hasDraft)
        return state === undefined
          ? missing()
          : refuse(
              `${id} has no draft to activate: save one first (nunchi campaigns draft <file>), or roll back to an earlier version`,
              'not_found',
            );
      return { kind: 'version', state: 'active' };

    case 'apply': {
      // Campaigns kept as code: the file is stored as the next version at once. A file without `state`
      // keeps the stored one (re-applying a paused campaign to fix a typo does not resume it).
      if (state === 'archived') return archived();
      const next = options.fileState ?? state ?? 'active';
      if (options.fileState === 'archived')
        return refuse(`${id}: a file cannot set state archived; end the campaign, then archive it`);
      if (state === 'ended' && next !== 'ended')
        return refuse(
          `${id} has ended and cannot be applied as ${next}: ending a campaign is final. Apply it under a new id to run it again.`,
        );
      return { kind: 'version', state: next };
    }

    case 'pause':
    case 'resume': {
      const target: VersionState = action === 'pause' ? 'paused' : 'active';
      if (state === undefined) return view.hasDraft ? neverActivated() : missing();
      if (state === 'ended') return ended();
      if (state === 'archived') return archived();
      return state === target ? { kind: 'unchanged', state } : { kind: 'version', state: target };
    }

    case 'end':
      if (state === undefined) return view.hasDraft ? neverActivated() : missing();
      if (state === 'archived') return archived();
      return state === 'ended' ? { kind: 'unchanged', state } : { kind: 'version', state: 'ended' };

    case 'archive':
      if (state === undefined)
        return view.hasDraft
          ? refuse(
              `${id} is a draft that was never activated: discard it instead (nunchi campaigns discard ${id})`,
            )
          : missing();
      if (state === 'archived') return { kind: 'unchanged', state };
      if (state !== 'ended')
        return refuse(
          `${id} is ${state}: end it before archiving it (nunchi campaigns end ${id}); archiving is for ended campaigns`,
        );
      return { kind: 'version', state: 'archived' };

    case 'rollback': {
      if (state === undefined) return view.hasDraft ? neverActivated() : missing();
      if (state === 'ended') return ended();
      if (state === 'archived') return archived();
      const target = options.targetVersion;
      const latest = view.latestVersion ?? 0;
      if (target === undefined || !Number.isInteger(target) || target < 1 || target > latest)
        return refuse(`campaign ${id} has no version ${target} (versions 1 to ${latest})`, 'not_found');
      return { kind: 'version', state: 'active' };
    }
  }
}

/** The actions that would change something from a view (what a console offers as buttons). */
export function allowedActions(view: LifecycleView): LifecycleAction[] {
  return LIFECYCLE_ACTIONS.filter((action) => {
    if (action === 'rollback' && (view.latestVersion ?? 0) < 2) return false;
    try {
      return transition(action, view, action === 'rollback' ? { targetVersion: 1 } : {}).kind !== 'unchanged';
    } catch {
      return false;
    }
  });
}

/**
 * The status an operator sees: `draft` without any version, `scheduled` for an active campaign whose first
 * day (schedule.from, a local day of its time zone) is still ahead at `nowMs`, otherwise the version's state.
 */
export function statusOf(
  state: VersionState | undefined,
  schedule: { from?: string; timezone?: string } | undefined,
  nowMs: number,
): CampaignStatus {
  if (state === undefined) return 'draft';
  if (state === 'active' && schedule?.from !== undefined && schedule.timezone !== undefined) {
    if (schedule.from > localDay(nowMs, schedule.timezone)) return 'scheduled';
  }
  return state;
}

export function isVersionState(value: unknown): value is VersionState {
  return typeof value === 'string' && (VERSION_STATES as readonly string[]).includes(value);
}
