import type { CqlClient } from '../client.js';
import { defineStatements, run, statement } from '../statements.js';

const Q = defineStatements({
  get: statement(
    'campaign_drafts.get',
    'SELECT revision, source, base_version, created_at, updated_at, updated_by FROM campaign_drafts WHERE campaign_id = ?',
  ),
  create: statement(
    'campaign_drafts.create',
    'INSERT INTO campaign_drafts (campaign_id, revision, source, base_version, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  update: statement(
    'campaign_drafts.update',
    'UPDATE campaign_drafts SET revision = ?, source = ?, base_version = ?, created_at = ?, updated_at = ?, updated_by = ? WHERE campaign_id = ? IF revision = ?',
    false,
  ),
  index: statement(
    'campaign_draft_index.list',
    'SELECT campaign_id, revision, has_draft, name, updated_at, updated_by FROM campaign_draft_index WHERE bucket = 0',
  ),
  setIndex: statement(
    'campaign_draft_index.upsert',
    'INSERT INTO campaign_draft_index (bucket, campaign_id, revision, has_draft, name, updated_at, updated_by) VALUES (0, ?, ?, ?, ?, ?, ?)',
  ),
});

/** A campaign's working copy. */
export interface StoredDraft {
  campaignId: string;
  /** moves on with every save, discard and activation; an edit names the revision it was made from */
  revision: number;
  /** the campaign as written (YAML or JSON text); undefined when the campaign has no draft */
  source?: string;
  /** the version the draft was started from; undefined for a campaign never activated */
  baseVersion?: number;
  createdAt?: Date;
  updatedAt: Date;
  updatedBy: string;
}

export interface DraftListing {
  campaignId: string;
  revision: number;
  name: string;
  updatedAt: Date;
  updatedBy: string;
}

export interface DraftWrite {
  /** the new draft text; undefined clears it (discarded, or activated) */
  source?: string;
  baseVersion?: number;
  /** when the draft was started (kept across its edits); @default at */
  createdAt?: Date;
  /** the draft's name as far as it can be read, for listings */
  name: string;
  at: Date;
  by: string;
}

/**
 * Campaign drafts: one row per campaign, changed only by lightweight transactions on `revision`, and a
 * one-partition index of which campaigns have one. Decision replicas never read either.
 */
export class CampaignDraftRepository {
  constructor(private readonly client: CqlClient) {}

  /** The campaign's draft row (with `source` undefined when it has no draft), or undefined if never drafted. */
  async get(campaignId: string): Promise<StoredDraft | undefined> {
    const row = (await run(this.client, Q.get, [campaignId])).first();
    if (!row) return undefined;
    return {
      campaignId,
      revision: row['revision'] as number,
      source: (row['source'] as string | null) ?? undefined,
      baseVersion: (row['base_version'] as number | null) ?? undefined,
      createdAt: (row['created_at'] as Date | null) ?? undefined,
      updatedAt: row['updated_at'] as Date,
      updatedBy: row['updated_by'] as string,
    };
  }

  /**
   * Writes revision `expectedRevision + 1` if the row is still at `expectedRevision` (undefined: the row
   * must not exist yet). False when someone else wrote first: nothing was written.
   */
  async write(campaignId: string, expectedRevision: number | undefined, draft: DraftWrite): Promise<boolean> {
    const revision = (expectedRevision ?? 0) + 1;
    const createdAt = draft.source === undefined ? null : (draft.createdAt ?? draft.at);
    const result =
      expectedRevision === undefined
        ? await run(this.client, Q.create, [
            campaignId,
            revision,
            draft.source ?? null,
            draft.baseVersion ?? null,
            createdAt,
            draft.at,
            draft.by,
          ])
        : await run(this.client, Q.update, [
            revision,
            draft.source ?? null,
            draft.baseVersion ?? null,
            createdAt,
            draft.at,
            draft.by,
            campaignId,
            expectedRevision,
          ]);
    if (!(result.first()['[applied]'] as boolean)) return false;
    await run(this.client, Q.setIndex, [
      campaignId,
      revision,
      draft.source !== undefined,
      draft.name,
      draft.at,
      draft.by,
    ]);
    return true;
  }

  /** Campaigns that have a draft now (one partition read). */
  async list(): Promise<DraftListing[]> {
    const rows = (await run(this.client, Q.index, [], { fetchSize: 20_000 })).rows;
    return rows
      .filter((r) => r['has_draft'] === true)
      .map((r) => ({
        campaignId: r['campaign_id'] as string,
        revision: r['revision'] as number,
        name: (r['name'] as string | null) ?? '',
        updatedAt: r['updated_at'] as Date,
        updatedBy: (r['updated_by'] as string | null) ?? '',
      }));
  }
}
