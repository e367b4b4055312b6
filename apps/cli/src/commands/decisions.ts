import { DecisionRepository } from '@nunchi/cassandra';
import { explainRecord } from '@nunchi/rules';
import type { Resources } from '../resources.js';

export async function explainDecisionById(resources: Resources, id: string): Promise<string[]> {
  const record = await new DecisionRepository(await resources.cassandra()).findById(id);
  if (!record) throw new Error(`no decision ${id}`);
  return explainRecord(record);
}
