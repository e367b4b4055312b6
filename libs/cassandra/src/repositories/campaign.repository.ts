import type { CqlClient } from '../client.js';
import { defineStatements, run, runAll, statement } from '../statements.js';

const Q = defineStatements({
  insertVersion: statement(
    'campaigns.insert',
    'INSERT INTO campaigns (campaign_id, version, state, definition, applied_at, applied_by) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  latest: statement(
    'campaigns.latest',
    'SELECT version, state, definition, applied_at, applied_by FROM campaigns WHERE campaign_id = ? LIMIT 1',
  ),
  version: statement(
    'campaigns.version',
    'SELECT version, state, definition, applied_at, applied_by FROM campaigns WHERE campaign_id = ? AND version = ?',
  ),
  versions: statement(
    'campaigns.versions',
    'SELECT version, state, definition, applied_at, applied_by FROM campaigns WHERE campaign_id = ?',
  ),
  index: statement(
    'campaign_index.list',
    'SELECT campaign_id, latest_version, state, updated_at FROM campaign_index WHERE bucket = 0',
  ),
  setIndex: statement(
    'campaign_index.upsert',
    'INSERT INTO campaign_index (bucket, campaign_id, latest_version, state, updated_at) VALUES (0, ?, ?, ?, ?)',
  ),
});

export interface StoredCampaign {
  campaignId: string;
  version: number;
  state: string;
  /** the campaign as JSON text (normalised from the YAML) */
  definition: string;
  appliedAt: Date;
  /** who stored it, as they said (see campaign_audit for how and from where) */
  appliedBy?: string;
}

/** Campaign versions (append-only audit) and the index of current versions that decision replicas load. */
export class CampaignRepository {
  constructor(private readonly client: CqlClient) {}

  /**
   * Stores a new version unless the definition is unchanged; returns the current version either way.
   * Versions are claimed with a lightweight transaction, so two concurrent applies cannot share a number.
   */
  async apply(
    campaignId: string,
    definition: string,
    state: string,
    appliedBy: string,
  ): Promise<{ version: number; changed: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.latest(campaignId);
      if (latest && latest.definition === definition && latest.state === state)
        return { version: latest.version, changed: false };
      const version = (latest?.version ?? 0) + 1;
      if (await this.append(campaignId, version, definition, state, appliedBy, new Date()))
        return { version, changed: true };
    }
    throw new Error(`campaign ${campaignId}: too many concurrent applies; try again`);
  }

  /**
   * Stores `version` if no version of that number exists yet, then points the index at it; false when
   * another writer claimed the number first (the caller read a latest version that is no longer latest).
   */
  async append(
    campaignId: string,
    version: number,
    definition: string,
    state: string,
    appliedBy: string,
    appliedAt: Date,
  ): Promise<boolean> {
    const claimed = (
      await run(this.client, Q.insertVersion, [campaignId, version, state, definition, appliedAt, appliedBy])
    ).first();
    if (!(claimed['[applied]'] as boolean)) return false;
    await run(this.client, Q.setIndex, [campaignId, version, state, appliedAt]);
    return true;
  }

  async latest(campaignId: string): Promise<StoredCampaign | undefined> {
    return toStored(campaignId, (await run(this.client, Q.latest, [campaignId])).first());
  }

  async get(campaignId: string, version: number): Promise<StoredCampaign | undefined> {
    return toStored(campaignId, (await run(this.client, Q.version, [campaignId, version])).first());
  }

  /** Every stored version of a campaign, oldest first (the audit trail: when each was applied, in which state). */
  async versions(campaignId: string): Promise<StoredCampaign[]> {
    const rows = await runAll(this.client, Q.versions, [campaignId], 1_000);
    return rows.map((r) => toStored(campaignId, r)!).sort((a, b) => a.version - b.version);
  }

  /** The current version of every campaign (one partition read, then one row per campaign). */
  async current(): Promise<StoredCampaign[]> {
    const index = await this.currentVersions();
    const all = await Promise.all(index.map((r) => this.get(r.campaignId, r.version)));
    return all.filter((c): c is StoredCampaign => c !== undefined);
  }

  /** Which version of each campaign is current: one small partition, cheap enough to poll. */
  async currentVersions(): Promise<Array<{ campaignId: string; version: number; state: string }>> {
    const rows = (await run(this.client, Q.index, [], { fetchSize: 20_000 })).rows;
    return rows.map((r) => ({
      campaignId: r['campaign_id'] as string,
      version: r['latest_version'] as number,
      state: r['state'] as string,
    }));
  }
}

function toStored(
  campaignId: string,
  row: Record<string, unknown> | null | undefined,
): StoredCampaign | undefined {
  if (!row) return undefined;
  return {
    campaignId,
    version: row['version'] as number,
    state: row['state'] as string,
    definition: row['definition'] as string,
    appliedAt: row['applied_at'] as Date,
    appliedBy: (row['applied_by'] as string | null) ?? undefined,
  };
}
