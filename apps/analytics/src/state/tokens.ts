/** Injection tokens of the repositories analytics' state uses (built on CQL_CLIENT in analytics-state.module.ts). */
export const ANALYTICS_REPOSITORY = Symbol('AnalyticsRepository');
export const DECISION_REPOSITORY = Symbol('DecisionRepository');
export const CAMPAIGN_REPOSITORY = Symbol('CampaignRepository');
