import { readFileSync } from 'node:fs';
import { projectPath } from '@nunchi/config';
import {
  HOP_MEANING,
  HOPS,
  parseSloSpec,
  SPAN_NAMES,
  traceReport,
  type Slo,
  type SloSpec,
  type TraceReport,
  type TraceSpan,
} from '@nunchi/slo';
import { LATENCY_BUCKETS_MS } from '@nunchi/telemetry';

/** Where traces come from: Zipkin's API today; an OTLP-fed backend (Tempo, Jaeger) implements the same. */
export interface TraceReader {
  /** a name for the report ("Zipkin at http://…") */
  readonly source: string;
  /** Traces holding a decision span that started in [fromMs, toMs], newest first, at most `limit`. */
  traces(query: { fromMs: number; toMs: number; limit: number }): Promise<TraceSpan[][]>;
  /** where a person opens one trace */
  link(traceId: string): string;
}

/** A trace backend or Prometheus did not answer as expected. */
export class SloSourceError extends Error {
  override readonly name = 'SloSourceError';
}

interface ZipkinSpan {
  traceId: string;
  id: string;
  name?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

/** Zipkin's v2 API (GET /api/v2/traces): the traces in which `serviceName` made a decision span. */
export class ZipkinTraceReader implements TraceReader {
  readonly source: string;
  private readonly base: string;

  /** `baseUrl`: http://host:9411 (an OTEL_EXPORTER_ZIPKIN_ENDPOINT's /api/v2/spans is stripped). */
  constructor(
    baseUrl: string,
    private readonly serviceName: string,
  ) {
    this.base = baseUrl.replace(/\/api\/v2\/spans\/?$/, '').replace(/\/$/, '');
    this.source = `Zipkin at ${this.base} (service ${serviceName})`;
  }

  async traces(query: { fromMs: number; toMs: number; limit: number }): Promise<TraceSpan[][]> {
    const url = new URL(`${this.base}/api/v2/traces`);
    url.searchParams.set('serviceName', this.serviceName);
    url.searchParams.set('spanName', SPAN_NAMES.decide);
    url.searchParams.set('endTs', String(Math.floor(query.toMs)));
    url.searchParams.set('lookback', String(Math.max(1, Math.ceil(query.toMs - query.fromMs))));
    url.searchParams.set('limit', String(query.limit));
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new SloSourceError(`${this.source} did not answer: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!response.ok)
      throw new SloSourceError(
        `${this.source} answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    const traces = (await response.json()) as ZipkinSpan[][];
    return traces.map((spans) =>
      spans.map((s) => ({
        traceId: s.traceId,
        id: s.id,
        name: s.name ?? '',
        serviceName: s.localEndpoint?.serviceName ?? '',
        startUs: s.timestamp ?? 0,
        durationUs: s.duration ?? 0,
        tags: s.tags ?? {},
      })),
    );
  }

  link(traceId: string): string {
    return `${this.base}/zipkin/traces/${traceId}`;
  }
}

/** What Prometheus counted over the same window, every event (not a sample): good / total per SLO. */
export interface MetricsCompliance {
  name: string;
  objective: number;
  /** percent of good events; null without events */
  actual: number | null;
  met: boolean | null;
}

/** PromQL: the fraction of good events of one SLO over `seconds`, every instance. */
export function goodRatioQuery(slo: Slo, seconds: number): string {
  const i = slo.indicator;
  const range = `[${seconds}s]`;
  if (i.kind === 'latency')
    return `sum(increase(${i.metric}_bucket{le="${i.thresholdMs}"}${range})) / sum(increase(${i.metric}_count${range}))`;
  const bad = Object.entries(i.bad)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `1 - (sum(increase(${i.metric}{${bad}}${range})) or vector(0)) / sum(increase(${i.metric}${range}))`;
}

/** Each SLO's compliance over [fromMs, toMs] from Prometheus's HTTP API (instant queries at toMs). */
export async function metricsCompliance(
  prometheusUrl: string,
  slos: Slo[],
  window: { fromMs: number; toMs: number },
): Promise<MetricsCompliance[]> {
  const seconds = Math.max(1, Math.round((window.toMs - window.fromMs) / 1000));
  const out: MetricsCompliance[] = [];
  for (const slo of slos) {
    const url = new URL(`${prometheusUrl.replace(/\/$/, '')}/api/v1/query`);
    url.searchParams.set('query', goodRatioQuery(slo, seconds));
    url.searchParams.set('time', String(window.toMs / 1000));
    let body: { status: string; data?: { result: Array<{ value: [number, string] }> }; error?: string };
    try {
      body = (await (await fetch(url)).json()) as typeof body;
    } catch (error) {
      throw new SloSourceError(`Prometheus at ${prometheusUrl} did not answer: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (body.status !== 'success')
      throw new SloSourceError(`Prometheus refused the query: ${body.error ?? '?'}`);
    const value = Number(body.data?.result[0]?.value[1]);
    const actual = Number.isFinite(value) ? Math.round(value * 1e4) / 1e2 : null;
    out.push({
      name: slo.name,
      objective: slo.objective,
      actual,
      met: actual === null ? null : actual >= slo.objective,
    });
  }
  return out;
}

export interface SloReportOptions {
  fromMs: number;
  toMs: number;
  /** traces read at most (Zipkin returns the newest) */
  limit: number;
  /** slowest traces listed */
  slowest: number;
  prometheusUrl?: string;
}

export type SloReport = TraceReport & {
  source: string;
  limit: number;
  /** from Prometheus, when one was given */
  metrics?: MetricsCompliance[];
};

export function readSloSpec(): SloSpec {
  return parseSloSpec(readFileSync(projectPath('slo', 'slo.yaml'), 'utf8'), LATENCY_BUCKETS_MS);
}

/** `nunchi slo report`: compliance with slo/slo.yaml and per-hop latency, from traces (and Prometheus). */
export async function sloReport(
  reader: TraceReader,
  options: SloReportOptions,
  spec = readSloSpec(),
): Promise<SloReport> {
  const traces = await reader.traces(options);
  const report = traceReport(traces, {
    fromMs: options.fromMs,
    toMs: options.toMs,
    slos: spec.slos,
    slowest: options.slowest,
    link: (id) => reader.link(id),
  });
  const metrics = options.prometheusUrl
    ? await metricsCompliance(options.prometheusUrl, spec.slos, options)
    : undefined;
  return { ...report, source: reader.source, limit: options.limit, ...(metrics ? { metrics } : {}) };
}

const fmtMs = (v: number) =>
  `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en')} ms`;
const pct = (v: number | null) => (v === null ? '–' : `${v} %`);
const verdict = (met: boolean | null) => (met === null ? 'no events' : met ? 'met' : 'MISSED');
const pad = (s: string, n: number) => s.padEnd(n);
const padStart = (s: string, n: number) => s.padStart(n);

export function formatSloReport(report: SloReport): string[] {
  const lines = [
    `SLO report ${new Date(report.fromMs).toISOString()} → ${new Date(report.toMs).toISOString()}`,
    `${report.traces} traces read from ${report.source}; ${report.decided} of decided events from receipt to decision.`,
  ];
  if (report.traces >= report.limit)
    lines.push(`Only the newest ${report.limit} traces were read: narrow --from/--to or raise --limit.`);
  lines.push('', 'objective (slo/slo.yaml)          target     from traces              verdict');
  for (const c of report.compliance)
    lines.push(
      `${pad(`${c.name} (≤ ${c.thresholdMs.toLocaleString('en')} ms)`, 34)} ${pad(`${c.objective} %`, 10)} ${pad(`${pct(c.actual)} (${c.good}/${c.total})`, 24)} ${verdict(c.met)}`,
    );
  if (report.metrics) {
    lines.push('', 'objective                          target     from Prometheus (every event)  verdict');
    for (const m of report.metrics)
      lines.push(
        `${pad(m.name, 34)} ${pad(`${m.objective} %`, 10)} ${pad(pct(m.actual), 30)} ${verdict(m.met)}`,
      );
  }
  lines.push(
    '',
    `${pad('hop', 18)}${['p50', 'p95', 'p99', 'max'].map((h) => padStart(h, 11)).join('')}${padStart('traces', 9)}`,
  );
  for (const hop of HOPS) {
    const p = report.hops[hop];
    lines.push(
      p
        ? `${pad(hop, 18)}${[p.p50, p.p95, p.p99, p.max].map((v) => padStart(fmtMs(v), 11)).join('')}${padStart(String(p.count), 9)}`
        : `${pad(hop, 18)}${padStart('–', 11)}`,
    );
  }
  if (report.slowest.length) {
    lines.push('', 'slowest traces');
    report.slowest.forEach((s, i) =>
      lines.push(
        `${padStart(`${i + 1}.`, 3)} ${padStart(fmtMs(s.endToEndMs), 10)}  ${pad(s.outcome, 8)} most in ${s.slowestHop} (${fmtMs(s.slowestHopMs)})  ${s.link}`,
      ),
    );
  }
  lines.push('', 'hops:', ...HOPS.map((h) => `  ${pad(h, 17)} ${HOP_MEANING[h]}`));
  return lines;
}
