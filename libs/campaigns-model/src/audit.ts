import type { LifecycleAction } from './lifecycle.js';

/**
 * Who made a change, and from where. Until authentication exists the name is what the caller says (the
 * CLI's --actor or NUNCHI_ACTOR, else the OS user; the HTTP header X-Nunchi-Actor): `verified` is false,
 * and every listing says so.
 */
export interface Actor {
  name: string;
  verified: boolean;
  /** where the change came from: "cli kim@host-1", "http 10.0.0.7 curl/8.5.0" */
  origin: string;
}

/** One change to a campaign, as the audit trail keeps it. */
export interface AuditEntry {
  campaignId: string;
  /** epoch milliseconds */
  atMs: number;
  action: LifecycleAction;
  actor: Actor;
  /** the status before and after (draft edits: the same) */
  fromStatus?: string;
  toStatus?: string;
  /** the version stored by the change, if one was */
  version?: number;
  /** the draft revision saved, discarded or activated */
  draftRevision?: number;
  /** a short note: the version rolled back to, the file applied, … */
  detail?: string;
}

/** Longest name an actor may give (a header or flag is free text). */
export const ACTOR_MAX_LENGTH = 128;

/**
 * An actor name as given, made safe to store and print: trimmed, control characters removed, bounded;
 * `fallback` when nothing is left.
 */
export function actorName(given: string | undefined, fallback: string): string {
  const cleaned = [...(given ?? '')]
    .filter((c) => {
      const code = c.codePointAt(0)!;
      return code >= 0x20 && code !== 0x7f && !(code >= 0x80 && code < 0xa0);
    })
    .join('')
    .trim()
    .slice(0, ACTOR_MAX_LENGTH);
  return cleaned || fallback;
}

/** "2026-12-02T04:10:00.000Z  activate     v3  draft → active  (draft rev 2)  by kim (unverified) via cli kim@host" */
export function auditLine(entry: AuditEntry): string {
  const states =
    entry.fromStatus === entry.toStatus
      ? (entry.toStatus ?? '')
      : `${entry.fromStatus ?? 'new'} → ${entry.toStatus ?? ''}`;
  return [
    new Date(entry.atMs).toISOString(),
    entry.action.padEnd(13),
    (entry.version !== undefined ? `v${entry.version}` : '-').padEnd(4),
    states,
    entry.draftRevision !== undefined ? `(draft rev ${entry.draftRevision})` : '',
    entry.detail ? `— ${entry.detail}` : '',
    `by ${entry.actor.name}${entry.actor.verified ? '' : ' (unverified)'} via ${entry.actor.origin}`,
  ]
    .filter(Boolean)
    .join('  ');
}
