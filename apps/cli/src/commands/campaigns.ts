import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { actorName, auditLine, type Actor, type CampaignStatus } from '@nunchi/campaigns-model';
import { Subjects } from '@nunchi/contracts/core';
import {
  BadInputError,
  campaignPorts,
  CampaignDrafts,
  CampaignLifecycle,
  CampaignQueries,
  parseVersionRef,
  sourceOf,
  TestCampaign,
  type CampaignHistory,
  type CampaignListing,
  type CampaignPorts,
  type CampaignTestReport,
  type StateAction,
} from '@nunchi/operations';
import type { Resources } from '../resources.js';
import { UsageError } from '../options.js';
import { osUser } from './cli-caller.js';
import { table } from './decisions.js';

/**
 * `nunchi campaigns …`: each command is one call of a campaign use case (libs/operations), the same the
 * campaigns HTTP API makes; this file reads files, names the actor and formats what comes back.
 */

/** The use cases' ports over the command's connections; NATS is connected only when a change is announced. */
export async function portsOf(resources: Resources): Promise<CampaignPorts> {
  return campaignPorts(await resources.cassandra(), resources.config.domain, async (id, version) => {
    const { client } = await resources.messaging();
    // rxjs with NATS, when a change is announced: `campaigns list` and the other reads load neither
    const { lastValueFrom } = await import('rxjs');
    await lastValueFrom(client.emit(Subjects.campaignsChanged, { id, version }));
  });
}

/**
 * Who runs the command, as they say (--actor, NUNCHI_ACTOR, else the OS user): unverified. The CLI's
 * commands name a verified caller instead when NUNCHI_API_KEY is set (cli-caller.ts).
 */
export function cliActor(given?: string): Actor {
  const user = osUser();
  return { name: actorName(given, user), verified: false, origin: `cli ${user}@${hostname()}` };
}

export interface ApplyResult {
  id: string;
  version: number;
  changed: boolean;
  /** the state stored */
  state: string;
}

/** Validates and compiles the file, then stores it as the next version (unless unchanged) and tells decision replicas. */
export async function applyCampaign(
  resources: Resources,
  file: string,
  actor: Actor = cliActor(),
): Promise<ApplyResult> {
  const result = await new CampaignLifecycle(await portsOf(resources)).apply(
    await readText(file),
    actor,
    file,
  );
  return { id: result.campaignId, version: result.version, changed: result.changed, state: result.state };
}

/** pause (paused), resume (active), end (ended) or archive (archived), as the lifecycle allows. */
export async function setCampaignState(
  resources: Resources,
  id: string,
  state: 'active' | 'paused' | 'ended' | 'archived',
  actor: Actor = cliActor(),
): Promise<ApplyResult> {
  const action: StateAction = (
    { active: 'resume', paused: 'pause', ended: 'end', archived: 'archive' } as const
  )[state];
  const result = await new CampaignLifecycle(await portsOf(resources)).setState(id, action, actor);
  return { id, version: result.version, changed: result.changed, state: result.state };
}

export type { CampaignListing };

/** Every campaign by id (ended and archived ones only with `all` or that `state`). */
export async function listCampaigns(
  resources: Resources,
  options: { state?: string; all?: boolean } = {},
): Promise<CampaignListing[]> {
  try {
    return await new CampaignQueries(await portsOf(resources)).list({
      status: options.state as CampaignStatus | undefined,
      all: options.all,
    });
  } catch (error) {
    if (error instanceof BadInputError) throw new UsageError(error.message);
    throw error;
  }
}

/** The listing as a table with a header row. */
export function formatCampaigns(list: CampaignListing[]): string[] {
  const limit = (used: number, max: number | undefined) => (max === undefined ? `${used}` : `${used}/${max}`);
  return table([
    ['ID', 'NAME', 'STATE', 'VERSION', 'OFFERS', 'COST', 'APPLIED'],
    ...list.map((c) => [
      c.campaignId,
      c.name,
      c.status,
      [c.version ? `v${c.version}` : '-', c.draft ? `(draft r${c.draft.revision})` : '']
        .filter(Boolean)
        .join(' '),
      limit(c.budget.offers, c.budget.maxOffers),
      limit(c.budget.cost, c.budget.maxCost),
      c.appliedAt?.toISOString() ?? '-',
    ]),
  ]);
}

/** `campaigns history`: versions, then every audited change, newest first. */
export function formatHistory(h: CampaignHistory): string[] {
  const lines = [`${h.campaignId}: ${h.status}`, 'versions:'];
  if (!h.versions.length) lines.push('  none (a draft never activated)');
  for (const v of h.versions)
    lines.push(
      `  v${v.version}  ${v.state.padEnd(8)}  ${v.appliedAt.toISOString()}${v.appliedBy ? `  by ${v.appliedBy}` : ''}`,
    );
  lines.push('changes, newest first (who is as given: not verified until authentication exists):');
  if (!h.changes.length) lines.push('  none audited (versions stored before the audit trail existed)');
  for (const c of h.changes) lines.push(`  ${auditLine(c)}`);
  return lines;
}

export interface CampaignTestOptions {
  /** the event as JSON: the envelope an adapter sends */
  eventFile: string;
  customerId: string;
  /** arbitrate against the live campaigns too (the tested campaign replaces its stored version) */
  withLive?: boolean;
}

export type { CampaignTestReport };

/**
 * A dry run of a file, or of a stored campaign (`id`: its draft if it has one, else its current version;
 * `id@draft`, `id@N`): decides one event for one customer on their stored profile, context and caps.
 */
export async function testCampaign(
  resources: Resources,
  target: string,
  options: CampaignTestOptions,
): Promise<CampaignTestReport> {
  const ports = await portsOf(resources);
  const event = await readJson(options.eventFile);
  const { source, version } = looksLikeFile(target)
    ? { source: await readText(target), version: undefined }
    : await storedSource(ports, target);
  return new TestCampaign(ports).run({
    source,
    version,
    event,
    customerId: options.customerId,
    withLive: options.withLive,
  });
}

/** `id`, `id@draft`, `id@current` or `id@N` as a campaign's text. */
export async function storedSource(ports: CampaignPorts, target: string) {
  const at = target.lastIndexOf('@');
  const id = at < 0 ? target : target.slice(0, at);
  const ref = at < 0 ? undefined : parseVersionRef(target.slice(at + 1), 'version');
  return sourceOf(ports, id, ref);
}

/** A path rather than a campaign id (ids are tokens without dots or slashes; a file by that name wins). */
export function looksLikeFile(target: string): boolean {
  return /\.(ya?ml|json)$/i.test(target) || target.includes('/') || existsSync(target);
}

export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${error.message}`,
    );
  });
}

async function readJson(file: string): Promise<unknown> {
  const text = await readText(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
}

export { CampaignDrafts, CampaignLifecycle, CampaignQueries };
