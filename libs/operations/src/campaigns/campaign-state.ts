import type { StoredCampaign, StoredDraft } from '@nunchi/cassandra';
import {
  isVersionState,
  statusOf,
  type CampaignStatus,
  type LifecycleView,
  type VersionState,
} from '@nunchi/campaigns-model';
import type { CampaignDefinition } from '@nunchi/rules';
import { BadInputError, CampaignNotFoundError } from './errors.js';
import type { CampaignPorts } from './ports.js';

/** A campaign as stored: its latest version and its draft row, read together. */
export interface CampaignState {
  campaignId: string;
  latest?: StoredCampaign;
  /** the draft row; `draft.source` undefined when there is no draft now */
  draft?: StoredDraft;
}

export async function readState(ports: CampaignPorts, campaignId: string): Promise<CampaignState> {
  const [latest, draft] = await Promise.all([
    ports.campaigns.latest(campaignId),
    ports.drafts.get(campaignId),
  ]);
  return { campaignId, latest, draft };
}

export const hasDraft = (state: CampaignState): boolean => state.draft?.source !== undefined;

export function viewOf(state: CampaignState): LifecycleView {
  return {
    campaignId: state.campaignId,
    state: versionStateOf(state.latest),
    latestVersion: state.latest?.version,
    hasDraft: hasDraft(state),
  };
}

export function versionStateOf(stored: StoredCampaign | undefined): VersionState | undefined {
  if (!stored) return undefined;
  // Every stored state is a version state; anything else would be a row written by hand.
  return isVersionState(stored.state) ? stored.state : 'paused';
}

/** The status an operator sees (draft, scheduled, active, …) at `nowMs`. */
export function statusOfStored(stored: StoredCampaign | undefined, nowMs: number): CampaignStatus {
  return statusOf(versionStateOf(stored), stored ? definitionOf(stored).schedule : undefined, nowMs);
}

/** A stored version's definition (JSON text) as an object; {} when it is not JSON (never written so). */
export function definitionOf(stored: StoredCampaign): Partial<CampaignDefinition> {
  try {
    return JSON.parse(stored.definition) as Partial<CampaignDefinition>;
  } catch {
    return {};
  }
}

/**
 * A definition as a version stores it: without `version` (the store assigns it) and without `state` (the
 * version's state column says it; a stale `state` inside would make a compiled campaign look paused).
 */
export function storedDefinition(definition: Partial<CampaignDefinition>): string {
  const copy = { ...definition };
  delete copy.version;
  delete copy.state;
  return JSON.stringify(copy);
}

/** A version reference as operators write it: a number (`3`, `v3`), `current` or `draft`. */
export type VersionRef = number | 'current' | 'draft';

export function parseVersionRef(text: string, path: string): VersionRef {
  const t = text.trim().toLowerCase();
  if (t === 'current' || t === 'draft') return t;
  const m = /^v?([1-9]\d{0,8})$/.exec(t);
  if (!m)
    throw new BadInputError(`${path}: not a version: "${text}" (a number such as 3, current or draft)`, path);
  return Number(m[1]);
}

/** A campaign as text to test or simulate: its draft, its current version, or one version. */
export interface CampaignSource {
  campaignId: string;
  source: string;
  /** names it in messages: "c1 draft (revision 3)", "c1 v2" */
  label: string;
  /** the stored version it is; undefined for a draft */
  version?: number;
}

/**
 * The text of a campaign's draft (`draft`), current version (`current`) or version N; without `ref`, the
 * draft when there is one (what is being prepared), else the current version.
 */
export async function sourceOf(
  ports: CampaignPorts,
  campaignId: string,
  ref?: VersionRef,
): Promise<CampaignSource> {
  const state = await readState(ports, campaignId);
  if (!state.latest && state.draft?.source === undefined)
    throw new CampaignNotFoundError(`no campaign ${campaignId}`);
  const wantDraft = ref === 'draft' || (ref === undefined && state.draft?.source !== undefined);
  if (wantDraft) {
    if (state.draft?.source === undefined)
      throw new CampaignNotFoundError(
        `${campaignId} has no draft (save one: nunchi campaigns draft <file>)`,
        'version',
      );
    return {
      campaignId,
      source: state.draft.source,
      label: `${campaignId} draft (revision ${state.draft.revision})`,
    };
  }
  const version = ref === 'current' || ref === undefined ? state.latest?.version : ref;
  const stored =
    version === state.latest?.version
      ? state.latest
      : version
        ? await ports.campaigns.get(campaignId, version)
        : undefined;
  if (!stored)
    throw new CampaignNotFoundError(
      state.latest
        ? `campaign ${campaignId} has no version ${version} (versions 1 to ${state.latest.version})`
        : `campaign ${campaignId} has no version yet (only a draft)`,
      'version',
    );
  return {
    campaignId,
    source: stored.definition,
    label: `${campaignId} v${stored.version}`,
    version: stored.version,
  };
}
