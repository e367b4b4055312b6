import type { Actor } from '@nunchi/campaigns-model';
import { idOfSource } from '@nunchi/campaigns-model/definitions';
import type {
  CampaignDiff,
  CampaignHistory,
  CampaignListing,
  ChangeResult,
  DiffEnd,
  DraftSaved,
  StateAction,
  ValidationResult,
  VersionRef,
} from '@nunchi/operations';
import type { CampaignStatus } from '@nunchi/campaigns-model';
import { ApiClient } from '../api-client.js';
import { UsageError } from '../options.js';
import type { Resources } from '../resources.js';

/**
 * What `nunchi campaigns` reads and changes, the same calls either way: over the campaign use cases on the
 * database (the CLI's own connections), or — with NUNCHI_API_URL set — over the campaigns HTTP API with
 * NUNCHI_API_KEY, where the service checks the key's role and writes the audit log, and the CLI needs no
 * database credentials (docs/security.md, "API keys"). The answers are the use cases' own, as JSON.
 */
export interface CampaignOperations {
  /** true over HTTP: the service checks the caller and audits; the CLI must not (it has no database) */
  readonly remote: boolean;
  list(options: { status?: CampaignStatus; all?: boolean }): Promise<CampaignListing[]>;
  show(campaignId: string, ref: VersionRef): Promise<DiffEnd>;
  history(campaignId: string): Promise<CampaignHistory>;
  diff(campaignId: string, from: VersionRef, to: VersionRef): Promise<CampaignDiff>;
  saveDraft(source: string, options: { revision?: number }, actor: Actor): Promise<DraftSaved>;
  discardDraft(
    campaignId: string,
    options: { revision?: number },
    actor: Actor,
  ): Promise<{ revision: number }>;
  /** the campaign's stored draft, checked as activation would check it */
  validateDraft(campaignId: string): Promise<ValidationResult>;
  activate(
    campaignId: string,
    options: { revision?: number; force?: boolean },
    actor: Actor,
  ): Promise<ChangeResult & { draftRevision: number }>;
  setState(campaignId: string, action: StateAction, actor: Actor): Promise<ChangeResult>;
  rollback(campaignId: string, version: number, actor: Actor): Promise<ChangeResult & { from: number }>;
}

/** Over HTTP when NUNCHI_API_URL is set, else over the database. */
export async function campaignOperations(resources: Resources): Promise<CampaignOperations> {
  const api = ApiClient.of(resources);
  return api ? new CampaignsOverHttp(api) : campaignsOverDatabase(resources);
}

async function campaignsOverDatabase(resources: Resources): Promise<CampaignOperations> {
  // loaded here: over HTTP the CLI needs neither the use cases nor the database driver
  const { CampaignDrafts, CampaignLifecycle, CampaignQueries, portsOf } = await import('./campaigns.js');
  const ports = await portsOf(resources);
  const queries = new CampaignQueries(ports);
  const drafts = new CampaignDrafts(ports);
  const lifecycle = new CampaignLifecycle(ports);
  return {
    remote: false,
    list: (options) => queries.list(options),
    show: (id, ref) => queries.show(id, ref),
    history: (id) => queries.history(id),
    diff: (id, from, to) => queries.diff(id, from, to),
    saveDraft: (source, options, actor) => drafts.save(source, options, actor),
    discardDraft: (id, options, actor) => drafts.discard(id, options, actor),
    validateDraft: (id) => drafts.validateDraft(id),
    activate: (id, options, actor) => lifecycle.activate(id, options, actor),
    setState: (id, action, actor) => lifecycle.setState(id, action, actor),
    rollback: (id, version, actor) => lifecycle.rollback(id, version, actor),
  };
}

/** The campaigns HTTP API (apps/analytics campaigns.controller.ts, campaign-lifecycle.controller.ts). */
class CampaignsOverHttp implements CampaignOperations {
  readonly remote = true;

  constructor(private readonly api: ApiClient) {}

  async list(options: { status?: CampaignStatus; all?: boolean }): Promise<CampaignListing[]> {
    const query = new URLSearchParams();
    if (options.status !== undefined) query.set('state', options.status);
    if (options.all) query.set('all', 'true');
    const path = `/v1/campaigns${query.size ? `?${query}` : ''}`;
    return (await this.api.request<{ campaigns: CampaignListing[] }>('GET', path)).campaigns;
  }

  async show(campaignId: string, ref: VersionRef): Promise<DiffEnd> {
    // the API shows a version as one side of a diff (a campaign's detail holds the current one and the draft)
    return (await this.diff(campaignId, ref, ref)).from;
  }

  history(campaignId: string): Promise<CampaignHistory> {
    return this.api.request('GET', `${this.base(campaignId)}/history`);
  }

  diff(campaignId: string, from: VersionRef, to: VersionRef): Promise<CampaignDiff> {
    const query = new URLSearchParams({ from: String(from), to: String(to) });
    return this.api.request('GET', `${this.base(campaignId)}/diff?${query}`);
  }

  saveDraft(source: string, options: { revision?: number }): Promise<DraftSaved> {
    const campaignId = idOfSource(source);
    if (!campaignId)
      throw new UsageError('the file has no campaign id (`id:`): a draft is filed under its campaign');
    return this.api.request('PUT', `${this.base(campaignId)}/draft`, { source, ...options });
  }

  discardDraft(campaignId: string, options: { revision?: number }): Promise<{ revision: number }> {
    const query = options.revision === undefined ? '' : `?revision=${options.revision}`;
    return this.api.request('DELETE', `${this.base(campaignId)}/draft${query}`);
  }

  validateDraft(campaignId: string): Promise<ValidationResult> {
    return this.api.request('POST', `${this.base(campaignId)}/draft/validate`);
  }

  activate(
    campaignId: string,
    options: { revision?: number; force?: boolean },
  ): Promise<ChangeResult & { draftRevision: number }> {
    return this.api.request('POST', `${this.base(campaignId)}/activate`, options);
  }

  setState(campaignId: string, action: StateAction): Promise<ChangeResult> {
    return this.api.request('POST', `${this.base(campaignId)}/${action}`);
  }

  rollback(campaignId: string, version: number): Promise<ChangeResult & { from: number }> {
    return this.api.request('POST', `${this.base(campaignId)}/rollback`, { version });
  }

  private base(campaignId: string): string {
    return `/v1/campaigns/${encodeURIComponent(campaignId)}`;
  }
}
