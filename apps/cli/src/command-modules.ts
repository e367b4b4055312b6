// Everything the commands run, loaded on first use (main.ts `load()`): `nunchi --help` and usage errors answer
// without loading the drivers, Nest and the validators (~1.5 s of a CLI start).
import 'reflect-metadata';
export { migrate, rewrapDataKeys, runDataStep } from '@nunchi/cassandra';
export { asMigrator, ConfigError, identityKeys, projectPath, requireIdentityKey } from '@nunchi/config';
export { ContractError } from '@nunchi/contracts';
export { CampaignInvalidError } from '@nunchi/rules';
export { Resources } from './resources.js';
export { problemsText } from '@nunchi/campaigns-model';
export {
  applyCampaign,
  CampaignDrafts,
  CampaignLifecycle,
  CampaignQueries,
  formatCampaigns,
  formatHistory,
  listCampaigns,
  looksLikeFile,
  portsOf,
  readText,
  setCampaignState,
  testCampaign,
} from './commands/campaigns.js';
export { parseVersionRef } from '@nunchi/operations';
export {
  compareCampaigns,
  formatComparison,
  formatReport,
  formatTimings,
  mergeShardsOrFail,
  othersFromFile,
  parseShard,
  readShardResults,
  simulateCampaign,
  simulateWithWorkers,
  writeJsonFile,
} from './commands/simulate.js';
export { importCustomers } from './commands/customers.js';
export { eraseCustomer, formatReceipt } from './commands/erase.js';
export { explainDecision, formatDecisions, listDecisions } from './commands/decisions.js';
export { sendEventsFile } from './commands/events.js';
export { tailOffers } from './commands/offers.js';
export { listDlq, preview, replayDlq } from './commands/dlq.js';
export { actorOf, audited, cliCaller } from './commands/cli-caller.js';
export { createKey, formatAudit, formatKeys, listKeys, readAudit, revokeKey } from './commands/keys.js';
export { applyStreamLayout, checkStreamLayout, formatLayout } from './commands/streams.js';
export { formatSloReport, sloReport, ZipkinTraceReader } from './commands/slo.js';
export {
  campaignReport,
  campaignSummaries,
  formatCampaignReport,
  formatSummaries,
} from './commands/stats.js';
export { parseSince } from './since.js';
