// SLOs as code: slo/slo.yaml → slo/generated/ (Prometheus rules, Grafana dashboard). Checks that the generated
// files are current, that Prometheus's own tool accepts the rules and passes slo/rules.test.yaml, that every
// metric the rules and the dashboard read is one the code exports, and that every alert has a runbook entry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { projectPath } from '@nunchi/config';
import type { RuleFile } from '@nunchi/slo';
import {
  DASHBOARD_PATH,
  generatedFiles,
  readSloSpec,
  RULES_PATH,
} from '../libs/slo/tools/generated-files.js';

/** promtool (Debian package `prometheus`), or a failure that names the install step. */
function promtool(...args: string[]): { status: number; output: string } {
  const run = spawnSync('promtool', args, { cwd: projectPath(), encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT')
    assert.fail(
      'promtool is not installed: apt-get install -y prometheus (Debian; .ci/run installs it). ' +
        'Stop the prometheus service the package may start: it is not needed.',
    );
  return { status: run.status ?? 1, output: `${run.stdout}${run.stderr}` };
}

const rules = (): RuleFile => parse(readFileSync(projectPath(RULES_PATH), 'utf8')) as RuleFile;
const dashboard = () =>
  JSON.parse(readFileSync(projectPath(DASHBOARD_PATH), 'utf8')) as {
    uid: string;
    panels: Array<{
      id: number;
      type: string;
      title: string;
      targets?: Array<{ expr: string; refId: string }>;
    }>;
  };

/** every string literal 'nunchi_…' in the TypeScript sources of apps/ and libs/: the metric names the code creates */
function metricNamesInCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.spec.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/['"`](nunchi_[a-z0-9_]+)['"`]/g))
          names.add(m[1]);
    }
  };
  walk(projectPath('apps'));
  walk(projectPath('libs'));
  return names;
}

/** The series a PromQL expression reads: every nunchi_… and nunchi:… name in it. */
const seriesIn = (expr: string) => [...expr.matchAll(/\bnunchi[_:][a-zA-Z0-9_:]+/g)].map((m) => m[0]);

/** The code's metric a Prometheus series comes from: histograms add _bucket/_count/_sum, counters _total. */
function exportedBy(series: string, code: Set<string>): boolean {
  const candidates = [series, series.replace(/_(bucket|count|sum)$/, ''), series.replace(/_total$/, '')];
  return candidates.some((c) => code.has(c));
}

describe('SLOs as code (slo/)', () => {
  it('slo/generated/ is what npm run slo:generate makes of slo/slo.yaml', () => {
    for (const [path, text] of generatedFiles()) {
      assert.equal(
        readFileSync(projectPath(path), 'utf8'),
        text,
        `${path} is stale: run npm run slo:generate and commit the result`,
      );
    }
  });

  it('promtool accepts the rules', () => {
    const run = promtool('check', 'rules', RULES_PATH);
    assert.equal(run.status, 0, run.output);
  });

  it('promtool test rules: slo/rules.test.yaml passes (burn-rate alerts fire when and only when they should)', () => {
    const run = promtool('test', 'rules', 'slo/rules.test.yaml');
    assert.equal(run.status, 0, run.output);
  });

  it('states the objectives the design names: 99 % within 100 ms, 99.9 % within 2 s, ingestion availability', () => {
    const spec = readSloSpec();
    const latency = spec.slos.flatMap((s) =>
      s.indicator.kind === 'latency' ? [[s.indicator.thresholdMs, s.objective]] : [],
    );
    assert.deepEqual(latency, [
      [100, 99],
      [2000, 99.9],
    ]);
    assert.ok(spec.slos.some((s) => s.indicator.kind === 'ratio' && s.name.startsWith('ingestion')));
  });

  it('every series the rules read is a recording rule or a metric the code exports', () => {
    const code = metricNamesInCode();
    const recorded = new Set(
      rules().groups.flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))),
    );
    for (const rule of rules().groups.flatMap((g) => g.rules)) {
      for (const series of seriesIn(rule.expr))
        assert.ok(
          recorded.has(series) || exportedBy(series, code),
          `${'record' in rule ? rule.record : rule.alert} reads ${series}, which no rule records and no code exports`,
        );
    }
  });

  describe('the Grafana dashboard', () => {
    it('is a dashboard model with unique panel ids, each query with a data source and a refId', () => {
      const d = dashboard();
      assert.equal(d.uid, 'nunchi-slo');
      const ids = d.panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
      const spec = readSloSpec();
      for (const slo of spec.slos)
        assert.ok(
          d.panels.some((p) => p.title.startsWith(`${slo.name}:`)),
          `a panel for the SLO ${slo.name}`,
        );
      for (const p of d.panels.filter((x) => x.type !== 'row')) {
        assert.ok(p.targets?.length, `${p.title}: has queries`);
        for (const t of p.targets) assert.ok(t.expr && t.refId, `${p.title}: expr and refId`);
      }
    });

    it('every query is PromQL that Prometheus parses, reading only recorded or exported series', () => {
      const code = metricNamesInCode();
      const recorded = new Set(
        rules().groups.flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))),
      );
      const queries = dashboard().panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
      );
      for (const q of queries)
        for (const series of seriesIn(q.expr))
          assert.ok(
            recorded.has(series) || exportedBy(series, code),
            `panel "${q.title}" reads ${series}, which no rule records and no code exports`,
          );
      // promtool has no "check this expression": each query becomes a recording rule of a throw-away file,
      // with Grafana's $__rate_interval replaced by a duration.
      const dir = mkdtempSync(join(tmpdir(), 'nunchi-dashboard-'));
      try {
        const file = join(dir, 'dashboard-queries.yaml');
        writeFileSync(
          file,
          stringify({
            groups: [
              {
                name: 'dashboard',
                rules: queries.map((q, i) => ({
                  record: `dashboard:query:${i}`,
                  expr: q.expr.replace(/\$__rate_interval/g, '5m'),
                })),
              },
            ],
          }),
        );
        const run = promtool('check', 'rules', file);
        assert.equal(run.status, 0, run.output);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('every alert has an entry in docs/runbook.md: what it means, what to check, what to do', () => {
    const runbook = readFileSync(projectPath('docs/runbook.md'), 'utf8');
    for (const rule of rules().groups.flatMap((g) => g.rules)) {
      if (!('alert' in rule)) continue;
      const section = new RegExp(`^### ${rule.alert}\\n([\\s\\S]*?)(?=^##|(?![\\s\\S]))`, 'm').exec(
        runbook,
      )?.[1];
      assert.ok(section, `docs/runbook.md has no "### ${rule.alert}" section`);
      for (const part of ['Meaning', 'Check', 'Act'])
        assert.match(section, new RegExp(`\\*\\*${part}\\*\\*`), `${rule.alert}: **${part}**`);
      assert.equal(
        rule.annotations.runbook,
        `docs/runbook.md#${rule.alert.toLowerCase()}`,
        `${rule.alert}: runbook annotation`,
      );
    }
  });
});
