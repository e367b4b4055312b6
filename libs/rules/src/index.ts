export * from './campaign.js';
export { campaignSchema } from './campaign.schema.js';
export { CampaignInvalidError } from './campaign-invalid.error.js';
export { parseCampaign, validateCampaign } from './parse-campaign.js';
export { compileCampaign, type CompiledCampaign, type CompiledOffer } from './compile-campaign.js';
export { CampaignSet, compareCandidates, lowerRankLosses, type CampaignSetOptions } from './campaign-set.js';
export * from './decision.types.js';
export { explain, lossLine } from './explain.js';
export { isHeldOut, holdoutBucket } from './holdout.js';
export {
  compileExpression,
  isCelProblem,
  type CompiledExpression,
  type CelProblem,
  type Guard,
  type GuardKey,
  type VarPath,
} from './cel-expression.js';
export { CEL_TYPES, CEL_VARIABLES } from './cel-environment.js';
export { isValidTimeZone, utcOffsetMs } from './local-time.js';
export { explainRecord } from './explain-record.js';
export {
  CLAIM_DAYS,
  EMPTY_LEDGER,
  claimsOf,
  hasClaim,
  ownClaims,
  usageOf,
  hasMerged,
  withClaim,
  withMergedLedger,
  withoutMergedLedger,
  withoutClaim,
  type ContactClaim,
  type ContactLedger,
  type ContactOutcome,
} from './contact-ledger.js';
export { consentOn, contactRefusal } from './contact-policy.js';
export { budgetLoss, fitsBudget, hasBudget, hasCaps, type BudgetUsed } from './limits.js';
export {
  ContextReplay,
  DecisionWorld,
  SetsOverTime,
  Simulation,
  alwaysActive,
  compareEvents,
  sortInReplayOrder,
  compareReplayOrder,
  localHour,
  replayOrderOf,
  type BudgetCheck,
  type CampaignTimeline,
  type CustomerBase,
  type DraftFate,
  type SimulatedChoice,
  type SimulatedDecision,
  type SimulatedOutcome,
  type SimulationOptions,
  type ReplayOrder,
  type VersionFrom,
} from './simulate.js';
export {
  NO_OTHERS,
  anyRefused,
  checkShardSet,
  mergeReports,
  othersOf,
  type MergedSimulation,
  type OthersChecks,
  type ShardResult,
  type WorldChecks,
} from './simulation-merge.js';
export {
  addUnreadable,
  SimulationReportBuilder,
  decisionLine,
  type BudgetDay,
  type DecisionLine,
  type ExplainedDecision,
  type OfferTotals,
  type Overlap,
  type ReportOptions,
  type SampledDecision,
  type SimulationReport,
} from './simulation-report.js';
export * from './patterns/index.js';
