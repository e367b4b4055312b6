/**
 * The production dependencies' known vulnerabilities (`npm audit --omit=dev`), for CI (.ci/run):
 *
 *   node dist/tools/dependency-audit.js
 *
 * - the registry's audit endpoint answered: every finding is listed; the step fails when one is at or above
 *   NUNCHI_AUDIT_LEVEL (`low` | `moderate` | `high` | `critical`; default `high`; `none`: report only);
 * - it did not answer (a registry mirror without the audit API, no network): the step says, in capitals, that
 *   the audit DID NOT RUN and why, and does not fail — a CI that cannot reach the endpoint must not block every
 *   change, and must not look as if it had audited either.
 */
import { spawnSync } from 'node:child_process';
import { projectPath } from '@nunchi/config';

export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type AuditOutcome =
  { ran: true; counts: Record<Severity, number>; findings: string[] } | { ran: false; why: string };

/** What `npm audit --json` printed: a report, or the reason there is none. Pure. */
export function readAudit(stdout: string, stderr: string): AuditOutcome {
  let report: Record<string, unknown> | undefined;
  try {
    report = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    report = undefined;
  }
  const metadata = report?.['metadata'] as
    { vulnerabilities?: Partial<Record<Severity, number>> } | undefined;
  if (report && metadata?.vulnerabilities) {
    const counts = Object.fromEntries(
      SEVERITIES.map((s) => [s, Number(metadata.vulnerabilities?.[s] ?? 0)]),
    ) as Record<Severity, number>;
    const vulnerabilities = (report['vulnerabilities'] ?? {}) as Record<
      string,
      { severity?: string; range?: string; via?: unknown[] }
    >;
    const findings = Object.entries(vulnerabilities).map(([name, v]) => {
      const titles = (v.via ?? [])
        .map((x) => (typeof x === 'object' && x && 'title' in x ? String(x.title) : ''))
        .filter(Boolean);
      return `${v.severity ?? '?'}  ${name} ${v.range ?? ''}${titles.length ? `  — ${titles.join('; ')}` : ''}`;
    });
    return { ran: true, counts, findings };
  }
  const message =
    (report?.['message'] as string | undefined) ??
    ((report?.['error'] as { summary?: string } | undefined)?.summary || undefined) ??
    stderr.split('\n').find((l) => /error|warn/i.test(l)) ??
    stderr.trim().split('\n')[0];
  return { ran: false, why: message || 'npm audit printed no report' };
}

/** Whether the findings fail the step at this level. */
export function fails(counts: Record<Severity, number>, level: Severity | 'none'): boolean {
  if (level === 'none') return false;
  return SEVERITIES.slice(SEVERITIES.indexOf(level)).some((s) => counts[s] > 0);
}

function main(): number {
  const levelText = process.env['NUNCHI_AUDIT_LEVEL'] ?? 'high';
  if (levelText !== 'none' && !(SEVERITIES as readonly string[]).includes(levelText)) {
    console.error(`NUNCHI_AUDIT_LEVEL="${levelText}" must be one of ${SEVERITIES.join(', ')} or none`);
    return 1;
  }
  const level = levelText as Severity | 'none';
  const npm = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
    cwd: projectPath(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const outcome = npm.error
    ? ({ ran: false, why: npm.error.message } as const)
    : readAudit(npm.stdout ?? '', npm.stderr ?? '');
  if (!outcome.ran) {
    console.log(
      `\n*** DEPENDENCY AUDIT DID NOT RUN: the registry's audit endpoint did not answer (${outcome.why}).\n` +
        '*** Nothing was checked: this is not a pass. Run `npm audit --omit=dev` where the registry answers.\n',
    );
    return 0;
  }
  const { counts, findings } = outcome;
  const summary = SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ');
  console.log(`dependency audit (npm audit --omit=dev): ${summary}`);
  for (const f of findings) console.log(`  ${f}`);
  if (fails(counts, level)) {
    console.log(
      `dependency audit FAILED: findings at or above "${level}" (NUNCHI_AUDIT_LEVEL); update the dependency, or override deliberately`,
    );
    return 1;
  }
  return 0;
}

if (process.argv[1]?.endsWith('dependency-audit.js')) process.exitCode = main();
