import type { StoredCampaign } from '@nunchi/cassandra';
import { checkDraft } from '@nunchi/campaigns-model/definitions';
import {
  statusOf,
  transition,
  type Actor,
  type CampaignStatus,
  type LifecycleAction,
  type VersionState,
} from '@nunchi/campaigns-model';
import { CampaignInvalidError, compileCampaign, parseCampaign, type CampaignDefinition } from '@nunchi/rules';
import {
  definitionOf,
  hasDraft,
  readState,
  statusOfStored,
  storedDefinition,
  viewOf,
  type CampaignState,
} from './campaign-state.js';
import { CampaignConflictError, CampaignNotFoundError } from './errors.js';
import type { CampaignPorts } from './ports.js';

/** What a change did. */
export interface ChangeResult {
  campaignId: string;
  /** the current version after the change */
  version: number;
  /** false: nothing was stored (already in that state, or the same definition applied again) */
  changed: boolean;
  /** the version's state */
  state: VersionState;
  /** what an operator sees (scheduled, active, …) */
  status: CampaignStatus;
}

export type StateAction = 'pause' | 'resume' | 'end' | 'archive';

/** A version number claimed by someone else between our read and our write: read and decide again. */
const ATTEMPTS = 5;

/**
 * Changes that store a version: activate a draft, apply a file (campaigns as code), pause, resume, end,
 * archive, roll back. Each asks libs/campaigns-model whether the change is allowed from the stored state,
 * stores the next version (a lightweight transaction on its number: two concurrent changes cannot share
 * one), writes the audit entry, and tells decision replicas.
 */
export class CampaignLifecycle {
  constructor(private readonly ports: CampaignPorts) {}

  /**
   * The draft becomes the next version, active. Refused when the draft has problems, when `revision` is
   * given and the draft has moved on since, or — unless `force` — when the campaign got a version since the
   * draft was started (someone else's change would be silently undone).
   */
  async activate(
    campaignId: string,
    options: { revision?: number; force?: boolean },
    actor: Actor,
  ): Promise<ChangeResult & { draftRevision: number }> {
    const state = await readState(this.ports, campaignId);
    transition('activate', viewOf(state));
    const draft = state.draft!;
    if (options.revision !== undefined && options.revision !== draft.revision)
      throw new CampaignConflictError(
        `the draft of ${campaignId} is at revision ${draft.revision}, not ${options.revision}: it changed since you read it`,
      );
    const latest = state.latest;
    if (!options.force && draft.baseVersion !== latest?.version)
      throw new CampaignConflictError(
        `${campaignId} changed since this draft was started (from ${draft.baseVersion ? `v${draft.baseVersion}` : 'nothing'}; now v${latest?.version} ${latest?.state}): ` +
          `compare them (nunchi campaigns diff ${campaignId} current draft), then activate with --force`,
      );
    const check = checkDraft(draft.source!, { campaignId, timeZone: this.ports.domain.timeZone });
    if (!check.definition) throw new CampaignInvalidError(check.problems, campaignId);
    const version = (latest?.version ?? 0) + 1;
    const at = new Date(this.ports.now());
    const definition = storedDefinition(check.definition);
    if (!(await this.ports.campaigns.append(campaignId, version, definition, 'active', actor.name, at)))
      throw new CampaignConflictError(`${campaignId} changed while activating: read it again and retry`);
    // The working copy is now a version. An edit saved meanwhile (a newer revision) stays a draft.
    await this.ports.drafts.write(campaignId, draft.revision, {
      name: check.definition.name,
      at,
      by: actor.name,
    });
    const status = statusOf('active', check.definition.schedule, at.getTime());
    await this.audit('activate', state, actor, at, {
      toStatus: status,
      version,
      draftRevision: draft.revision,
    });
    await this.ports.announce(campaignId, version);
    return { campaignId, version, changed: true, state: 'active', status, draftRevision: draft.revision };
  }

  /**
   * Campaigns as code: the file is checked, compiled and stored as the next version at once (a draft of
   * the campaign, if any, is left alone). A file without `state` keeps the stored one; a new campaign
   * starts active. The same definition and state again store nothing.
   */
  async apply(source: string, actor: Actor, label = 'file'): Promise<ChangeResult> {
    const definition = parseCampaign(source, { timeZone: this.ports.domain.timeZone });
    compileCampaign(definition, 0); // refuse what would not compile before anything is stored
    return this.storeVersion(definition.id, actor, 'apply', () => ({
      options: { fileState: definition.state },
      detail: label,
      definition: () => Promise.resolve(definition),
    }));
  }

  /** pause, resume, end or archive: the current definition, stored again in the new state (or unchanged). */
  async setState(campaignId: string, action: StateAction, actor: Actor): Promise<ChangeResult> {
    return this.storeVersion(campaignId, actor, action, (latest) => ({
      options: {},
      definition: () => Promise.resolve(latest ? definitionOf(latest) : {}),
    }));
  }

  /** Version `version` activated again, as the next version (history is never rewritten). */
  async rollback(
    campaignId: string,
    version: number,
    actor: Actor,
  ): Promise<ChangeResult & { from: number }> {
    const result = await this.storeVersion(campaignId, actor, 'rollback', () => ({
      options: { targetVersion: version },
      detail: `rolled back to v${version}`,
      definition: async () => {
        const stored = await this.ports.campaigns.get(campaignId, version);
        if (!stored)
          throw new CampaignNotFoundError(`campaign ${campaignId} has no version ${version}`, 'version');
        // It ran once; the engine may have changed since: refuse what would no longer compile.
        const target = parseCampaign(definitionOf(stored), { timeZone: this.ports.domain.timeZone });
        compileCampaign({ ...target, state: 'active' }, 0);
        return target;
      },
    }));
    return { ...result, from: version };
  }

  /**
   * Reads the latest version, asks the lifecycle, stores the next version, audits, announces; retried when
   * another writer claimed the version number first (the lifecycle is asked again on what they stored).
   */
  private async storeVersion(
    campaignId: string,
    actor: Actor,
    action: LifecycleAction,
    plan: (latest: StoredCampaign | undefined) => {
      options: Parameters<typeof transition>[2];
      detail?: string;
      /** the definition to store, read once the lifecycle allowed the action */
      definition: () => Promise<Partial<CampaignDefinition>>;
    },
  ): Promise<ChangeResult> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const state = await readState(this.ports, campaignId);
      const { latest } = state;
      const planned = plan(latest);
      const t = transition(action, viewOf(state), planned.options);
      if (t.kind === 'draft') throw new Error(`${action} does not store a version`);
      const definition = storedDefinition(await planned.definition());
      const at = new Date(this.ports.now());
      const unchanged =
        t.kind === 'unchanged' ||
        (latest !== undefined &&
          latest.state === t.state &&
          storedDefinition(definitionOf(latest)) === definition);
      if (unchanged && latest) {
        return {
          campaignId,
          version: latest.version,
          changed: false,
          state: t.state,
          status: statusOfStored(latest, at.getTime()),
        };
      }
      const version = (latest?.version ?? 0) + 1;
      if (!(await this.ports.campaigns.append(campaignId, version, definition, t.state, actor.name, at)))
        continue;
      const status = statusOf(t.state, (JSON.parse(definition) as CampaignDefinition).schedule, at.getTime());
      await this.audit(action, state, actor, at, { toStatus: status, version, detail: planned.detail });
      await this.ports.announce(campaignId, version);
      return { campaignId, version, changed: true, state: t.state, status };
    }
    throw new CampaignConflictError(`${campaignId}: too many concurrent changes; try again`);
  }

  private async audit(
    action: LifecycleAction,
    before: CampaignState,
    actor: Actor,
    at: Date,
    entry: { toStatus: CampaignStatus; version?: number; draftRevision?: number; detail?: string },
  ): Promise<void> {
    await this.ports.audit.record({
      campaignId: before.campaignId,
      atMs: at.getTime(),
      action,
      actor,
      fromStatus: before.latest
        ? statusOfStored(before.latest, at.getTime())
        : hasDraft(before)
          ? 'draft'
          : undefined,
      ...entry,
    });
  }
}
