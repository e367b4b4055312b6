import { readFile } from 'node:fs/promises';
import {
  CampaignRepository,
  ContextRepository,
  CustomerRepository,
  DecisionRepository,
} from '@nunchi/cassandra';
import {
  buildSnapshot,
  foldEvent,
  foldIntoClosedDay,
  localDay,
  localDayRange,
  openContext,
} from '@nunchi/context-model';
import {
  Subjects,
  toAcceptedEvent,
  validateEvent,
  type AcceptedEvent,
  type ContextSnapshot,
  type CustomerProfile,
} from '@nunchi/contracts';
import {
  CAMPAIGN_STATES,
  CampaignSet,
  compileCampaign,
  explain,
  parseCampaign,
  type CampaignDefinition,
  type CampaignState,
  usageOf,
  type Evaluation,
} from '@nunchi/rules';
import { lastValueFrom } from 'rxjs';
import type { Resources } from '../resources.js';
import { UsageError } from '../options.js';
import { table } from './decisions.js';

export interface ApplyResult {
  id: string;
  version: number;
  changed: boolean;
  /** the state stored */
  state: string;
}

/** Validates and compiles the campaign, then stores a new version (unless unchanged) and tells decision replicas. */
export async function applyCampaign(
  resources: Resources,
  file: string,
  appliedBy = process.env['USER'] ?? 'nunchi',
): Promise<ApplyResult> {
  const definition = parseCampaign(await readText(file), { timeZone: resources.config.domain.timeZone });
  compileCampaign(definition, 0); // refuse what would not compile before anything is stored
  const latest = await new CampaignRepository(await resources.cassandra()).latest(definition.id);
  // A file without `state` keeps the stored one: re-applying a paused campaign to fix a typo does not
  // resume it. `end` is final: an ended campaign stays ended.
  const state = definition.state ?? (latest?.state as CampaignState | undefined) ?? 'active';
  if (latest?.state === 'ended' && state !== 'ended') throw new EndedCampaignError(definition.id, `set it ${state}`);
  // (An active campaign from a file without `state` is stored as before: no new version on re-apply.)
  return store(resources, definition.state || state !== 'active' ? { ...definition, state } : definition, appliedBy);
}

/** A change to an ended campaign: `end` is final (its budget, caps and statistics stay closed). */
export class EndedCampaignError extends Error {
  override readonly name = 'EndedCampaignError';
  constructor(id: string, what: string) {
    super(`${id} has ended and cannot ${what}: ending a campaign is final. Apply it under a new id to run it again.`);
  }
}

export async function setCampaignState(
  resources: Resources,
  id: string,
  state: 'active' | 'paused' | 'ended',
): Promise<ApplyResult> {
  const repo = new CampaignRepository(await resources.cassandra());
  const latest = await repo.latest(id);
  if (!latest) throw new Error(`no campaign ${id}`);
  if (latest.state === 'ended' && state !== 'ended')
    throw new EndedCampaignError(id, state === 'active' ? 'be resumed' : 'be paused');
  const definition = { ...(JSON.parse(latest.definition) as CampaignDefinition), state };
  return store(resources, definition, process.env['USER'] ?? 'nunchi');
}

export interface CampaignListing {
  campaignId: string;
  name: string;
  version: number;
  state: string;
  appliedAt: Date;
  /** budget used so far against the campaign's limits (campaign_budget) */
  budget: { offers: number; cost: number; maxOffers?: number; maxCost?: number };
}

/**
 * The current version of every campaign with its name, state and budget used, by id. Ended campaigns only
 * when asked for (`all`, or `state: 'ended'`).
 */
export async function listCampaigns(
  resources: Resources,
  options: { state?: string; all?: boolean } = {},
): Promise<CampaignListing[]> {
  if (options.state !== undefined && !(CAMPAIGN_STATES as readonly string[]).includes(options.state))
    throw new UsageError(`--state must be one of ${CAMPAIGN_STATES.join(', ')}, got "${options.state}"`);
  const cql = await resources.cassandra();
  const decisions = new DecisionRepository(cql);
  const shown = (await new CampaignRepository(cql).current())
    .filter((c) => (options.state ? c.state === options.state : options.all || c.state !== 'ended'))
    .sort((a, b) => (a.campaignId < b.campaignId ? -1 : a.campaignId > b.campaignId ? 1 : 0));
  return Promise.all(
    shown.map(async (c) => {
      const definition = JSON.parse(c.definition) as Partial<CampaignDefinition>;
      const used = await decisions.budgetUsage(c.campaignId);
      return {
        campaignId: c.campaignId,
        name: definition.name ?? '',
        version: c.version,
        state: c.state,
        appliedAt: c.appliedAt,
        budget: { ...used, ...definition.budget },
      };
    }),
  );
}

/** The listing as a table with a header row. */
export function formatCampaigns(list: CampaignListing[]): string[] {
  const limit = (used: number, max: number | undefined) => (max === undefined ? `${used}` : `${used}/${max}`);
  return table([
    ['ID', 'NAME', 'STATE', 'VERSION', 'OFFERS', 'COST', 'APPLIED'],
    ...list.map((c) => [
      c.campaignId,
      c.name,
      c.state,
      `v${c.version}`,
      limit(c.budget.offers, c.budget.maxOffers),
      limit(c.budget.cost, c.budget.maxCost),
      c.appliedAt.toISOString(),
    ]),
  ]);
}

async function store(
  resources: Resources,
  definition: CampaignDefinition,
  appliedBy: string,
): Promise<ApplyResult> {
  const repo = new CampaignRepository(await resources.cassandra());
  // The store assigns versions: a version in the file is not part of the definition.
  const withoutVersion: Partial<CampaignDefinition> & { version?: number } = { ...definition };
  delete withoutVersion.version;
  const result = await repo.apply(
    definition.id,
    JSON.stringify(withoutVersion),
    definition.state ?? 'active',
    appliedBy,
  );
  if (result.changed) {
    const { client } = await resources.messaging();
    await lastValueFrom(client.emit(Subjects.campaignsChanged, { id: definition.id, version: result.version }));
  }
  return { id: definition.id, ...result, state: definition.state ?? 'active' };
}

export interface CampaignTestOptions {
  /** the event as JSON: the envelope an adapter sends */
  eventFile: string;
  customerId: string;
  /** arbitrate against the live campaigns too (the file replaces its stored version) */
  withLive?: boolean;
}

export interface CampaignTestReport {
  campaignId: string;
  evaluation: Evaluation;
  /** what the explanation says, line by line */
  lines: string[];
}

/**
 * A dry run: validates and compiles the campaign, reads the customer's profile, context and caps from
 * Cassandra (the source of truth; the context service's hot tier is only a cache of it), folds the event
 * into the day's context exactly as the context service would, and decides with every campaign's reason.
 * Reads only: nothing is sent, nothing is written, no budget or cap is claimed.
 */
export async function testCampaign(
  resources: Resources,
  file: string,
  options: CampaignTestOptions,
): Promise<CampaignTestReport> {
  const definition = parseCampaign(await readText(file), { timeZone: resources.config.domain.timeZone });
  const event = await readEvent(options.eventFile, options.customerId);
  const cql = await resources.cassandra();
  const tz = resources.config.domain.timeZone;
  const nowMs = Date.now();
  const decisions = new DecisionRepository(cql);
  const [stored, latest] = await Promise.all([
    options.withLive ? new CampaignRepository(cql).current() : Promise.resolve([]),
    new CampaignRepository(cql).latest(definition.id),
  ]);
  // The file is tested as if active, with the version it would get if applied now.
  const draft = compileCampaign({ ...definition, state: 'active' }, (latest?.version ?? 0) + 1);
  const live = stored
    .filter((s) => s.campaignId !== definition.id)
    .map((s) => compileCampaign(parseCampaign(JSON.parse(s.definition) as unknown), s.version));
  const set = new CampaignSet([draft, ...live], {
    maxOffersPerCustomerPerDay: resources.config.domain.maxOffersPerCustomerPerDay,
  });

  const [{ customer, ctx }, ledger] = await Promise.all([
    contextWithEvent(resources, event, nowMs),
    decisions.contacts(event.customerId),
  ]);
  const evaluation = set.evaluate(
    { event, customer, ctx, nowMs: event.occurredAtMs, usage: usageOf(ledger, localDay(event.occurredAtMs, tz)) },
    { exhaustive: true },
  );

  const lines = [
    `dry run of ${definition.id} (would be v${draft.version}) for customer ${event.customerId}${customer ? '' : ' (no profile: rules see defaults)'}, event ${event.id} (${event.type} on ${event.channel})`,
  ];
  if (definition.state && definition.state !== 'active')
    lines.push(`note: the file says state ${definition.state}; tested as if active`);
  lines.push(...explain(evaluation));
  for (const c of evaluation.candidates) {
    if (c.budget.maxOffers === undefined && c.budget.maxCost === undefined) continue;
    const used = await decisions.budgetUsage(c.campaignId);
    const limits = [
      c.budget.maxOffers !== undefined ? `${used.offers}/${c.budget.maxOffers} offers` : '',
      c.budget.maxCost !== undefined ? `${used.cost}/${c.budget.maxCost} cost` : '',
    ].filter(Boolean);
    lines.push(`budget of ${c.campaignId}: ${limits.join(', ')} used`);
  }
  lines.push('nothing was sent or written');
  return { campaignId: definition.id, evaluation, lines };
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${error.message}`,
    );
  });
}

/** The event file validated as ingestion would, for the given customer (its own customer reference is replaced). */
async function readEvent(file: string, customerId: string): Promise<AcceptedEvent> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readText(file));
  } catch (error) {
    if (error instanceof SyntaxError) throw new Error(`${file} is not JSON: ${error.message}`);
    throw error;
  }
  const nowMs = Date.now();
  const envelope = validateEvent(
    { ...(raw as Record<string, unknown>), customer: { id: customerId } },
    { nowMs },
  );
  return toAcceptedEvent(envelope, customerId, nowMs);
}

/**
 * Profile and context snapshot as the context service would hand them to the decision service with this
 * event: the stored history folded exactly as live (libs/context-model foldEvent), then the event.
 */
async function contextWithEvent(
  resources: Resources,
  event: AcceptedEvent,
  nowMs: number,
): Promise<{ customer: CustomerProfile | null; ctx: ContextSnapshot }> {
  const cql = await resources.cassandra();
  const domain = resources.config.domain;
  const history = new ContextRepository(cql, domain.eventTtlDays * 86_400);
  const options = { timeZone: domain.timeZone, nowMs };
  const [profile, stored] = await Promise.all([
    new CustomerRepository(cql).get(event.customerId),
    history.storedHistory(event.customerId, options),
  ]);
  let result = foldEvent(openContext({ profile, ...stored, timeZone: domain.timeZone }), event, options);
  if (result.kind === 'closed-day') {
    const range = localDayRange(result.day, domain.timeZone);
    const dayEvents = await history.eventsOfDay(event.customerId, result.day, range.startMs, range.endMs);
    result = foldIntoClosedDay(result.context, event, dayEvents, options);
  }
  const folded = result.context;
  const ctx = buildSnapshot({
    customerId: event.customerId,
    rows: folded.rows,
    recent: folded.recent,
    nowMs,
    timeZone: domain.timeZone,
    currentStoreId: event.storeId,
  });
  return { customer: folded.profile, ctx };
}
