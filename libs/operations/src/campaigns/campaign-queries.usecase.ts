import type { StoredCampaign } from '@nunchi/cassandra';
import {
  allowedActions,
  CAMPAIGN_STATUSES,
  type AuditEntry,
  type CampaignStatus,
  type LifecycleAction,
  type VersionState,
} from '@nunchi/campaigns-model';
import { checkDraft, definitionYaml, looseParse, unifiedDiff } from '@nunchi/campaigns-model/definitions';
import type { ProblemDetail } from '@nunchi/contracts/core';
import type { CampaignDefinition } from '@nunchi/rules';
import {
  definitionOf,
  readState,
  statusOfStored,
  versionStateOf,
  viewOf,
  type CampaignState,
  type VersionRef,
} from './campaign-state.js';
import { draftSource } from './campaign-drafts.usecase.js';
import { BadInputError, CampaignNotFoundError } from './errors.js';
import type { CampaignPorts } from './ports.js';

export interface DraftSummary {
  revision: number;
  updatedAt: Date;
  updatedBy: string;
}

export interface CampaignListing {
  campaignId: string;
  name: string;
  status: CampaignStatus;
  /** the current version; undefined for a campaign never activated */
  version?: number;
  /** the current version's state; undefined for a campaign never activated */
  state?: VersionState;
  appliedAt?: Date;
  /** the pending draft, if any */
  draft?: DraftSummary;
  /** budget used so far against the campaign's limits (campaign_budget) */
  budget: { offers: number; cost: number; maxOffers?: number; maxCost?: number };
}

export interface VersionSummary {
  version: number;
  state: string;
  appliedAt: Date;
  appliedBy?: string;
}

export interface CampaignDetail {
  campaignId: string;
  status: CampaignStatus;
  /** what can be done now (a console's buttons) */
  actions: LifecycleAction[];
  current?: VersionSummary & { definition: Partial<CampaignDefinition>; yaml: string };
  draft?: DraftSummary & {
    source: string;
    baseVersion?: number;
    createdAt?: Date;
    /** [] when it would activate as it is */
    problems: ProblemDetail[];
  };
  versions: VersionSummary[];
}

export interface CampaignHistory {
  campaignId: string;
  status: CampaignStatus;
  versions: VersionSummary[];
  /** every audited change, newest first (versions stored before the audit existed have none) */
  changes: AuditEntry[];
}

export interface CampaignDiff {
  campaignId: string;
  from: DiffEnd;
  to: DiffEnd;
  /** a unified diff of the two as YAML; only the two header lines when they are equal */
  diff: string;
  identical: boolean;
}

export interface DiffEnd {
  /** a version number, or 'draft' */
  ref: number | 'draft';
  label: string;
  yaml: string;
}

/** Reading campaigns: lists, one campaign, its history and the difference between two of its versions. */
export class CampaignQueries {
  constructor(private readonly ports: CampaignPorts) {}

  /**
   * Every campaign — its current version, or its draft if it was never activated — by id. Ended and
   * archived ones only when asked for (`all`, or that `status`).
   */
  async list(options: { status?: CampaignStatus; all?: boolean } = {}): Promise<CampaignListing[]> {
    if (options.status !== undefined && !(CAMPAIGN_STATUSES as readonly string[]).includes(options.status))
      throw new BadInputError(
        `--state must be one of ${CAMPAIGN_STATUSES.join(', ')}, got "${options.status}"`,
        'state',
      );
    const nowMs = this.ports.now();
    const [versions, drafts] = await Promise.all([this.ports.campaigns.current(), this.ports.drafts.list()]);
    const draftOf = new Map(drafts.map((d) => [d.campaignId, d]));
    const rows: Omit<CampaignListing, 'budget'>[] = versions.map((c) => {
      const definition = definitionOf(c);
      const draft = draftOf.get(c.campaignId);
      return {
        campaignId: c.campaignId,
        name: definition.name ?? '',
        status: statusOfStored(c, nowMs),
        version: c.version,
        state: versionStateOf(c),
        appliedAt: c.appliedAt,
        draft: draft && { revision: draft.revision, updatedAt: draft.updatedAt, updatedBy: draft.updatedBy },
      };
    });
    const activated = new Set(versions.map((c) => c.campaignId));
    for (const d of drafts)
      if (!activated.has(d.campaignId))
        rows.push({
          campaignId: d.campaignId,
          name: d.name,
          status: 'draft',
          draft: { revision: d.revision, updatedAt: d.updatedAt, updatedBy: d.updatedBy },
        });
    const hidden = new Set<CampaignStatus>(['ended', 'archived']);
    const shown = rows
      .filter((c) => (options.status ? c.status === options.status : options.all || !hidden.has(c.status)))
      .sort((a, b) => cmp(a.campaignId, b.campaignId));
    return Promise.all(
      shown.map(async (c) => {
        const used = c.version
          ? await this.ports.decisions.budgetUsage(c.campaignId)
          : { offers: 0, cost: 0 };
        const limits = versions.find((v) => v.campaignId === c.campaignId);
        return { ...c, budget: { ...used, ...(limits ? definitionOf(limits).budget : {}) } };
      }),
    );
  }

  async get(campaignId: string): Promise<CampaignDetail> {
    const state = await readState(this.ports, campaignId);
    if (!state.latest && state.draft?.source === undefined)
      throw new CampaignNotFoundError(`no campaign ${campaignId}`);
    const versions = state.latest ? (await this.ports.campaigns.versions(campaignId)).map(summary) : [];
    const { latest, draft } = state;
    return {
      campaignId,
      status: statusOfStored(latest, this.ports.now()),
      actions: allowedActions(viewOf(state)),
      current: latest && {
        ...summary(latest),
        definition: definitionOf(latest),
        yaml: definitionYaml(definitionOf(latest)),
      },
      draft:
        draft?.source === undefined
          ? undefined
          : {
              revision: draft.revision,
              updatedAt: draft.updatedAt,
              updatedBy: draft.updatedBy,
              createdAt: draft.createdAt,
              baseVersion: draft.baseVersion,
              source: draft.source,
              problems: checkDraft(draft.source, { campaignId, timeZone: this.ports.domain.timeZone })
                .problems,
            },
      versions: versions.reverse(),
    };
  }

  async history(campaignId: string): Promise<CampaignHistory> {
    const [state, versions, changes] = await Promise.all([
      readState(this.ports, campaignId),
      this.ports.campaigns.versions(campaignId),
      this.ports.audit.of(campaignId),
    ]);
    if (!versions.length && !changes.length && state.draft === undefined)
      throw new CampaignNotFoundError(`no campaign ${campaignId}`);
    return {
      campaignId,
      status: statusOfStored(state.latest, this.ports.now()),
      versions: versions.map(summary),
      changes: changes.map((c) => ({ ...c, action: c.action as LifecycleAction })),
    };
  }

  /** Two versions (or a version and the draft) as YAML, and their unified diff. */
  async diff(campaignId: string, from: VersionRef, to: VersionRef): Promise<CampaignDiff> {
    const state = await readState(this.ports, campaignId);
    if (!state.latest && state.draft?.source === undefined)
      throw new CampaignNotFoundError(`no campaign ${campaignId}`);
    const [a, b] = await Promise.all([this.end(state, from, 'from'), this.end(state, to, 'to')]);
    const diff = unifiedDiff(
      { label: a.label, header: a.header, yaml: a.yaml },
      { label: b.label, header: b.header, yaml: b.yaml },
    );
    return {
      campaignId,
      from: { ref: a.ref, label: a.label, yaml: a.yaml },
      to: { ref: b.ref, label: b.label, yaml: b.yaml },
      diff,
      identical: a.yaml === b.yaml,
    };
  }

  /** One version (or the draft) as YAML: what `nunchi campaigns show` prints, ready to edit and save as a draft. */
  async show(campaignId: string, ref: VersionRef): Promise<DiffEnd> {
    const state = await readState(this.ports, campaignId);
    if (!state.latest && state.draft?.source === undefined)
      throw new CampaignNotFoundError(`no campaign ${campaignId}`);
    const end = await this.end(state, ref, 'version');
    // The draft as its author wrote it (comments, order); a version in canonical form.
    return { ref: end.ref, label: end.label, yaml: end.ref === 'draft' ? draftSource(state) : end.yaml };
  }

  private async end(
    state: CampaignState,
    ref: VersionRef,
    path: string,
  ): Promise<{ ref: number | 'draft'; label: string; header: string; yaml: string }> {
    const id = state.campaignId;
    if (ref === 'draft') {
      const source = draftSource(state);
      const check = checkDraft(source, { campaignId: id, timeZone: this.ports.domain.timeZone });
      // A draft with problems is compared as written (as far as it parses), so the diff still helps to fix it.
      const definition = check.definition ?? looseParse(source);
      return {
        ref,
        label: `${id} draft`,
        header: `revision ${state.draft!.revision}, saved ${state.draft!.updatedAt.toISOString()} by ${state.draft!.updatedBy}`,
        yaml: definition ? definitionYaml(definition) : source,
      };
    }
    const version = ref === 'current' ? state.latest?.version : ref;
    const stored =
      version === undefined
        ? undefined
        : version === state.latest?.version
          ? state.latest
          : await this.ports.campaigns.get(id, version);
    if (!stored)
      throw new CampaignNotFoundError(
        state.latest
          ? `campaign ${id} has no version ${version} (versions 1 to ${state.latest.version})`
          : `campaign ${id} has no version yet (only a draft)`,
        path,
      );
    return {
      ref: stored.version,
      label: `${id} v${stored.version}`,
      header: `${stored.state}, applied ${stored.appliedAt.toISOString()}${stored.appliedBy ? ` by ${stored.appliedBy}` : ''}`,
      yaml: definitionYaml(definitionOf(stored)),
    };
  }
}

function summary(s: StoredCampaign): VersionSummary {
  return { version: s.version, state: s.state, appliedAt: s.appliedAt, appliedBy: s.appliedBy };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
