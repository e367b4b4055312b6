import { randomUUID } from 'node:crypto';
import type { CqlClient } from '../client.js';
import { defineStatements, run, runAll, statement } from '../statements.js';
import { utcDay } from './customer.repository.js';

const Q = defineStatements({
  insert: statement(
    'audit_log.insert',
    'INSERT INTO audit_log (day, at, audit_id, action, actor, actor_kind, roles, target, outcome, origin, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  day: statement(
    'audit_log.day',
    'SELECT at, audit_id, action, actor, actor_kind, roles, target, outcome, origin, detail FROM audit_log WHERE day = ?',
  ),
});

/** One change, as the audit log keeps it. */
export interface AuditRecord {
  /** epoch milliseconds */
  atMs: number;
  /** what was done: `campaigns.activate POST /v1/campaigns/x/activate`, `keys.create`, `dlq.replay` */
  action: string;
  /** who: an API key's name and id, a token's subject, or the CLI's OS user */
  actor: string;
  /** how the actor was known: `key` and `token` are verified; `cli` is whoever runs the CLI with the database's credentials */
  actorKind: 'key' | 'token' | 'cli';
  roles: string[];
  /** what it was done to: a campaign id, a customer id, a key id, a DLQ sequence */
  target: string;
  /** the HTTP status answered (the CLI: 0 done, 1 failed) */
  outcome: number;
  /** where from: `http 10.0.0.7 curl/8.5.0`, `cli kim@host-1` */
  origin: string;
  detail?: string;
}

/** The audit log (cql/0016_access.cql): appended to, read a UTC day at a time, newest first. */
export class AuditLogRepository {
  constructor(private readonly client: CqlClient) {}

  async record(entry: AuditRecord): Promise<void> {
    await run(this.client, Q.insert, [
      utcDay(entry.atMs),
      new Date(entry.atMs),
      randomUUID(),
      entry.action,
      entry.actor,
      entry.actorKind,
      entry.roles.join(','),
      entry.target,
      entry.outcome,
      entry.origin,
      entry.detail ?? null,
    ]);
  }

  /** The changes of one UTC day (YYYY-MM-DD), newest first. */
  async ofDay(day: string): Promise<AuditRecord[]> {
    const rows = await runAll(this.client, Q.day, [day], 1_000);
    return rows.map((r) => ({
      atMs: (r['at'] as Date).getTime(),
      action: r['action'] as string,
      actor: r['actor'] as string,
      actorKind: r['actor_kind'] as AuditRecord['actorKind'],
      roles: ((r['roles'] as string | null) ?? '').split(',').filter(Boolean),
      target: (r['target'] as string | null) ?? '',
      outcome: (r['outcome'] as number | null) ?? 0,
      origin: (r['origin'] as string | null) ?? '',
      detail: (r['detail'] as string | null) ?? undefined,
    }));
  }

  /** The changes of `days` UTC days ending with `lastDay` (YYYY-MM-DD), newest first. */
  async ofDays(lastDay: string, days: number): Promise<AuditRecord[]> {
    const last = Date.parse(`${lastDay}T00:00:00Z`);
    const out: AuditRecord[] = [];
    for (let i = 0; i < days; i++) out.push(...(await this.ofDay(utcDay(last - i * 86_400_000))));
    return out;
  }
}
