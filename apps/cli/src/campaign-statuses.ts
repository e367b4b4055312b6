/**
 * What `campaigns list --state` takes, for its help: CAMPAIGN_STATUSES of libs/campaigns-model written out, so
 * that `--help` does not load that lib and the validators behind it (campaign-statuses.spec.ts holds the two
 * equal).
 */
export const CAMPAIGN_STATUSES = ['active', 'paused', 'ended', 'scheduled', 'draft', 'archived'] as const;
