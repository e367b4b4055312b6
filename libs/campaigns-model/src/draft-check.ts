import { parse } from 'yaml';
import type { ProblemDetail } from '@nunchi/contracts/core';
import { CampaignInvalidError, compileCampaign, parseCampaign, type CampaignDefinition } from '@nunchi/rules';

/** Longest draft source accepted, characters (a campaign file is a few KiB). */
export const DRAFT_SOURCE_MAX_LENGTH = 65_536;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface DraftCheck {
  /** the definition as it would be stored (no `version`), when the draft is valid */
  definition?: CampaignDefinition;
  /** every problem by path, as `nunchi campaigns apply` prints them; [] when valid */
  problems: ProblemDetail[];
}

/**
 * Checks a draft as activation will: the campaign checks of parseCampaign (shape, CEL, schedule …), it
 * compiles, its id is the campaign's, and it sets no `state` (the lifecycle does). A draft may be saved
 * with problems (work in progress); it cannot be activated with any.
 */
export function checkDraft(source: string, options: { campaignId: string; timeZone: string }): DraftCheck {
  if (source.length > DRAFT_SOURCE_MAX_LENGTH)
    return {
      problems: [
        {
          path: '',
          message: `a draft is at most ${DRAFT_SOURCE_MAX_LENGTH} characters (got ${source.length})`,
        },
      ],
    };
  try {
    const parsed = parseCampaign(source, { timeZone: options.timeZone });
    const problems: ProblemDetail[] = [];
    if (parsed.id !== options.campaignId)
      problems.push({
        path: 'id',
        message: `must be ${options.campaignId}, the campaign this draft belongs to (got ${parsed.id})`,
      });
    if (parsed.state !== undefined)
      problems.push({
        path: 'state',
        message: 'is set by the lifecycle (activate, pause, resume, end), not by a draft: remove it',
      });
    if (problems.length) return { problems };
    compileCampaign({ ...parsed, state: 'active' }, 0);
    const definition = { ...parsed };
    delete definition.version; // the store assigns it on activation
    return { definition, problems: [] };
  } catch (error) {
    if (error instanceof CampaignInvalidError) return { problems: error.details };
    throw error;
  }
}

/** The problems as the CLI prints them: `campaign "<id>" is invalid (N problems):` then `  path: message` lines. */
export function problemsText(campaignId: string | undefined, problems: ProblemDetail[]): string {
  return new CampaignInvalidError(problems, campaignId).message;
}

/** The `id` a draft's source names, if it can be read at all (to file a draft under its campaign). */
export function idOfSource(source: string): string | undefined {
  const id = readSource(source).id;
  return id !== undefined && ID_RE.test(id) ? id : undefined;
}

/** The id and name a source gives, as far as it parses (for listings of drafts with problems). */
export function readSource(source: string): { id?: string; name?: string } {
  const value = looseParse(source);
  if (!value) return {};
  const { id, name } = value;
  return {
    id: typeof id === 'string' ? id : undefined,
    name: typeof name === 'string' ? name.slice(0, 200) : undefined,
  };
}

/** A source as a plain object when it is YAML (or JSON) of one, without any campaign check. */
export function looseParse(source: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = parse(source);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
