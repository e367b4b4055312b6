import { randomUUID } from 'node:crypto';
import type { CqlClient } from '../client.js';
import { defineStatements, run, runAll, statement } from '../statements.js';

const Q = defineStatements({
  insert: statement(
    'campaign_audit.insert',
    'INSERT INTO campaign_audit (campaign_id, at, audit_id, action, actor, actor_verified, origin, from_status, to_status, version, draft_revision, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  of: statement(
    'campaign_audit.of',
    'SELECT at, action, actor, actor_verified, origin, from_status, to_status, version, draft_revision, detail FROM campaign_audit WHERE campaign_id = ?',
  ),
});

/** One audited change (libs/campaigns-model AuditEntry, stored). */
export interface AuditRow {
  campaignId: string;
  atMs: number;
  action: string;
  actor: { name: string; verified: boolean; origin: string };
  fromStatus?: string;
  toStatus?: string;
  version?: number;
  draftRevision?: number;
  detail?: string;
}

/** The campaign audit trail: every change, newest first. */
export class CampaignAuditRepository {
  constructor(private readonly client: CqlClient) {}

  /** Appends one entry (a random id: two changes in the same millisecond are both kept; a retry rewrites the same row). */
  async record(entry: AuditRow): Promise<void> {
    await run(this.client, Q.insert, [
      entry.campaignId,
      new Date(entry.atMs),
      randomUUID(),
      entry.action,
      entry.actor.name,
      entry.actor.verified,
      entry.actor.origin,
      entry.fromStatus ?? null,
      entry.toStatus ?? null,
      entry.version ?? null,
      entry.draftRevision ?? null,
      entry.detail ?? null,
    ]);
  }

  /** Every entry of a campaign, newest first. */
  async of(campaignId: string): Promise<AuditRow[]> {
    const rows = await runAll(this.client, Q.of, [campaignId], 1_000);
    return rows.map((r) => ({
      campaignId,
      atMs: (r['at'] as Date).getTime(),
      action: r['action'] as string,
      actor: {
        name: r['actor'] as string,
        verified: r['actor_verified'] === true,
        origin: (r['origin'] as string | null) ?? '',
      },
      fromStatus: (r['from_status'] as string | null) ?? undefined,
      toStatus: (r['to_status'] as string | null) ?? undefined,
      version: (r['version'] as number | null) ?? undefined,
      draftRevision: (r['draft_revision'] as number | null) ?? undefined,
      detail: (r['detail'] as string | null) ?? undefined,
    }));
  }
}
