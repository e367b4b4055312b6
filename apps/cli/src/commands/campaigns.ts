import { readFile } from 'node:fs/promises';
import { CampaignRepository } from '@nunchi/cassandra';
import { Subjects } from '@nunchi/contracts';
import { compileCampaign, parseCampaign, type CampaignDefinition } from '@nunchi/rules';
import type { Resources } from '../resources.js';

export interface ApplyResult {
  id: string;
  version: number;
  changed: boolean;
}

/** Validates and compiles the campaign, then stores a new version (unless unchanged) and tells decision replicas. */
export async function applyCampaign(resources: Resources, file: string, appliedBy = process.env['USER'] ?? 'nunchi'): Promise<ApplyResult> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(error.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${error.message}`);
  });
  const definition = parseCampaign(text);
  compileCampaign(definition, 0); // refuse what would not compile before anything is stored
  return store(resources, definition, appliedBy);
}

export async function setCampaignState(resources: Resources, id: string, state: 'active' | 'paused' | 'ended'): Promise<ApplyResult> {
  const repo = new CampaignRepository(await resources.cassandra());
  const latest = await repo.latest(id);
  if (!latest) throw new Error(`no campaign ${id}`);
  const definition = { ...(JSON.parse(latest.definition) as CampaignDefinition), state };
  return store(resources, definition, process.env['USER'] ?? 'nunchi');
}

export async function listCampaigns(resources: Resources) {
  return new CampaignRepository(await resources.cassandra()).current();
}

async function store(resources: Resources, definition: CampaignDefinition, appliedBy: string): Promise<ApplyResult> {
  const repo = new CampaignRepository(await resources.cassandra());
  // The store assigns versions: a version in the file is not part of the definition.
  const withoutVersion: Partial<CampaignDefinition> & { version?: number } = { ...definition };
  delete withoutVersion.version;
  const result = await repo.apply(definition.id, JSON.stringify(withoutVersion), definition.state ?? 'active', appliedBy);
  if (result.changed) {
    const nc = await resources.nc();
    nc.publish(Subjects.campaignsChanged, JSON.stringify({ id: definition.id, version: result.version }));
    await nc.flush();
  }
  return { id: definition.id, ...result };
}
