import type { ProblemDetail } from '@nunchi/contracts/core';
import { checkDraft, idOfSource, problemsText, readSource } from '@nunchi/campaigns-model/definitions';
import { transition, type Actor } from '@nunchi/campaigns-model';
import { CampaignInvalidError } from '@nunchi/rules';
import { readState, statusOfStored, viewOf, type CampaignState } from './campaign-state.js';
import { CampaignConflictError, CampaignNotFoundError } from './errors.js';
import type { CampaignPorts } from './ports.js';

export interface SaveDraftOptions {
  /** the campaign the draft belongs to; default: the `id` the source names */
  campaignId?: string;
  /** the revision the edit was made from: refused if the draft has moved on since (default: last write wins) */
  revision?: number;
  /** refuse if the campaign or a draft of it exists already (creating a new campaign) */
  createOnly?: boolean;
}

export interface DraftSaved {
  campaignId: string;
  revision: number;
  /** the version the draft was started from (undefined: a new campaign) */
  baseVersion?: number;
  /** [] when the draft would activate as it is */
  problems: ProblemDetail[];
}

export interface ValidationResult {
  campaignId?: string;
  valid: boolean;
  problems: ProblemDetail[];
  /** the problems as the CLI prints them (empty when valid) */
  text: string;
}

/**
 * Drafts: the working copy of a campaign, saved as often as one likes (with problems, as work in
 * progress), validated, tested and simulated, never seen by a decision replica. Every save and discard is
 * audited; the draft row moves on one revision each time, so an edit made from an old revision is refused.
 */
export class CampaignDrafts {
  constructor(private readonly ports: CampaignPorts) {}

  async save(source: string, options: SaveDraftOptions, actor: Actor): Promise<DraftSaved> {
    const campaignId = options.campaignId ?? idOfSource(source);
    if (!campaignId)
      throw new CampaignInvalidError([
        { path: 'id', message: 'is required to file a draft: a token of 1-64 [A-Za-z0-9_-]' },
      ]);
    const state = await readState(this.ports, campaignId);
    if (options.createOnly && (state.latest || state.draft?.source !== undefined))
      throw new CampaignConflictError(
        `campaign ${campaignId} exists already: edit its draft (PUT /v1/campaigns/${campaignId}/draft, or nunchi campaigns draft <file>)`,
      );
    transition('save-draft', viewOf(state));
    const current = state.draft?.source !== undefined ? state.draft : undefined;
    this.checkRevision(campaignId, current?.revision, options.revision);
    const check = checkDraft(source, { campaignId, timeZone: this.ports.domain.timeZone });
    const at = new Date(this.ports.now());
    // A draft continues from the version it was started from; a new one starts from the current version.
    const baseVersion = current ? current.baseVersion : state.latest?.version;
    const written = await this.ports.drafts.write(campaignId, state.draft?.revision, {
      source,
      baseVersion,
      createdAt: current?.createdAt,
      name: check.definition?.name ?? readSource(source).name ?? '',
      at,
      by: actor.name,
    });
    if (!written) throw this.concurrent(campaignId);
    const revision = (state.draft?.revision ?? 0) + 1;
    const status = state.latest ? statusOfStored(state.latest, at.getTime()) : 'draft';
    await this.ports.audit.record({
      campaignId,
      atMs: at.getTime(),
      action: 'save-draft',
      actor,
      fromStatus: state.latest || current ? status : undefined,
      toStatus: status,
      draftRevision: revision,
      detail:
        [
          current ? undefined : baseVersion ? `started from v${baseVersion}` : 'new campaign',
          check.problems.length ? `${check.problems.length} problem(s)` : undefined,
        ]
          .filter(Boolean)
          .join('; ') || undefined,
    });
    return { campaignId, revision, baseVersion, problems: check.problems };
  }

  /** The draft thrown away (the campaign's versions are untouched). */
  async discard(
    campaignId: string,
    options: { revision?: number },
    actor: Actor,
  ): Promise<{ revision: number }> {
    const state = await readState(this.ports, campaignId);
    transition('discard-draft', viewOf(state));
    const draft = state.draft!;
    this.checkRevision(campaignId, draft.revision, options.revision);
    const at = new Date(this.ports.now());
    if (!(await this.ports.drafts.write(campaignId, draft.revision, { name: '', at, by: actor.name })))
      throw this.concurrent(campaignId);
    const status = state.latest ? statusOfStored(state.latest, at.getTime()) : 'draft';
    await this.ports.audit.record({
      campaignId,
      atMs: at.getTime(),
      action: 'discard-draft',
      actor,
      fromStatus: status,
      toStatus: state.latest ? status : undefined,
      draftRevision: draft.revision,
    });
    return { revision: draft.revision };
  }

  /** The campaign's draft checked as activation would check it. */
  async validateDraft(campaignId: string): Promise<ValidationResult & { revision: number }> {
    const state = await readState(this.ports, campaignId);
    const source = draftSource(state);
    return {
      ...validation(campaignId, checkDraft(source, this.checkOptions(campaignId))),
      revision: state.draft!.revision,
    };
  }

  /** A source checked as a draft (its own id, or `campaignId`'s), without saving it. */
  validateSource(source: string, campaignId?: string): ValidationResult {
    return validateCampaignSource(source, this.ports.domain.timeZone, campaignId);
  }

  private checkOptions(campaignId: string) {
    return { campaignId, timeZone: this.ports.domain.timeZone };
  }

  private checkRevision(campaignId: string, actual: number | undefined, expected: number | undefined): void {
    if (expected === undefined || expected === actual) return;
    throw new CampaignConflictError(
      actual === undefined
        ? `${campaignId} has no draft (revision ${expected} was given): it was activated or discarded since you read it`
        : `the draft of ${campaignId} is at revision ${actual}, not ${expected}: it changed since you read it`,
    );
  }

  private concurrent(campaignId: string): CampaignConflictError {
    return new CampaignConflictError(
      `the draft of ${campaignId} changed while saving: read it again and retry`,
    );
  }
}

/**
 * A source checked as a draft (its own id, or `campaignId`'s), as activation would check it: pure, no storage
 * read — what `nunchi campaigns validate <file>` needs, without the database.
 */
export function validateCampaignSource(
  source: string,
  timeZone: string,
  campaignId?: string,
): ValidationResult {
  const id = campaignId ?? idOfSource(source);
  if (!id) {
    const problems = [{ path: 'id', message: 'is required: a token of 1-64 [A-Za-z0-9_-]' }];
    return { valid: false, problems, text: problemsText(undefined, problems) };
  }
  return validation(id, checkDraft(source, { campaignId: id, timeZone }));
}

/** The draft's source, or a not-found naming what to do. */
export function draftSource(state: CampaignState): string {
  if (state.draft?.source === undefined)
    throw new CampaignNotFoundError(
      state.latest || state.draft
        ? `${state.campaignId} has no draft (save one: nunchi campaigns draft <file>)`
        : `no campaign ${state.campaignId}`,
    );
  return state.draft.source;
}

function validation(campaignId: string, check: { problems: ProblemDetail[] }): ValidationResult {
  return {
    campaignId,
    valid: check.problems.length === 0,
    problems: check.problems,
    text: check.problems.length ? problemsText(campaignId, check.problems) : '',
  };
}
