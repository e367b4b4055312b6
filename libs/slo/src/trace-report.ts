import type { Slo } from './slo-spec.js';

/** One span as a trace backend gives it, reduced to what the report reads. Times in microseconds since the epoch. */
export interface TraceSpan {
  traceId: string;
  id: string;
  name: string;
  serviceName: string;
  startUs: number;
  durationUs: number;
  /** the span's attributes (Zipkin: tags), as strings */
  tags: Record<string, string>;
}

/** The spans of one event's journey, by the names the services give them (docs/architecture.md, tracing). */
export const SPAN_NAMES = {
  receive: 'ingestion.receive',
  publish: 'ingestion.publish',
  apply: 'context.apply',
  decide: 'decision.decide',
  offer: 'decision.publish_offer',
} as const;

/** set on decision.decide only when the event was decided (a campaign's trigger took it) */
const OUTCOME_TAG = 'nunchi.decision.outcome';

/** The hops of an event, in the order it meets them, and the whole. Milliseconds. */
export const HOPS = [
  'ingestion',
  'queueWait',
  'context',
  'decision',
  'offerPublication',
  'endToEnd',
] as const;
export type Hop = (typeof HOPS)[number];

export const HOP_MEANING: Record<Hop, string> = {
  ingestion: 'ingestion.receive: receipt to the answer (the event stored in EVENTS, or the error)',
  queueWait:
    'waiting in EVENTS (stored → context starts) plus in ENRICHED (context done → decision starts); each part ≥ 0',
  context:
    'context.apply until the decision starts on the event (its Cassandra write may go on after: not on the path)',
  decision: 'decision.decide up to the offer handed to NATS (its whole span when there is no offer)',
  offerPublication: 'decision.publish_offer',
  endToEnd:
    "receipt (ingestion.receive's start) to the offer handed to NATS, or to the end of decision.decide without an offer",
};

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface SloCompliance {
  name: string;
  thresholdMs: number;
  /** percent */
  objective: number;
  good: number;
  total: number;
  /** percent of good events; null without events */
  actual: number | null;
  met: boolean | null;
}

export interface SlowTrace {
  traceId: string;
  endToEndMs: number;
  outcome: string;
  /** the slowest hop of this trace, and its milliseconds */
  slowestHop: Hop;
  slowestHopMs: number;
  link: string;
}

export interface TraceReport {
  fromMs: number;
  toMs: number;
  /** traces read from the backend */
  traces: number;
  /** of those, traces of a decided event with every span from receipt to decision */
  decided: number;
  compliance: SloCompliance[];
  hops: Record<Hop, Percentiles | null>;
  slowest: SlowTrace[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function percentiles(values: number[]): Percentiles | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
  };
}

/** The hops of one trace in milliseconds, or undefined when it is not a decided event's complete trace. */
export function hopsOf(
  spans: TraceSpan[],
): { hops: Partial<Record<Hop, number>>; outcome: string } | undefined {
  const first = (name: string) =>
    spans.filter((s) => s.name === name).sort((a, b) => a.startUs - b.startUs)[0] as TraceSpan | undefined;
  const receive = first(SPAN_NAMES.receive);
  const decide = spans.find((s) => s.name === SPAN_NAMES.decide && s.tags[OUTCOME_TAG] !== undefined);
  if (!receive || !decide) return undefined;
  const publish = first(SPAN_NAMES.publish);
  const apply = first(SPAN_NAMES.apply);
  const offer = first(SPAN_NAMES.offer);
  const end = (s: TraceSpan) => s.startUs + s.durationUs;
  const ms = (us: number) => us / 1000;
  const hops: Partial<Record<Hop, number>> = {
    ingestion: ms(receive.durationUs),
    decision: ms(offer ? Math.max(0, offer.startUs - decide.startUs) : decide.durationUs),
    endToEnd: ms((offer ? end(offer) : end(decide)) - receive.startUs),
  };
  if (apply) {
    hops.context = ms(Math.max(0, Math.min(end(apply), decide.startUs) - apply.startUs));
    hops.queueWait = ms(
      Math.max(0, apply.startUs - (publish ? end(publish) : receive.startUs)) +
        Math.max(0, decide.startUs - end(apply)),
    );
  }
  if (offer) hops.offerPublication = ms(offer.durationUs);
  return { hops, outcome: decide.tags[OUTCOME_TAG] };
}

/**
 * SLA compliance and per-hop latency from traces. Counts what the traces hold: with head sampling
 * (OTEL_TRACES_SAMPLER) a sample of events, which the latency histogram on /metrics is not.
 */
export function traceReport(
  traces: TraceSpan[][],
  options: { fromMs: number; toMs: number; slos: Slo[]; slowest: number; link: (traceId: string) => string },
): TraceReport {
  const values = Object.fromEntries(HOPS.map((h) => [h, [] as number[]])) as Record<Hop, number[]>;
  const decided: Array<{ traceId: string; hops: Partial<Record<Hop, number>>; outcome: string }> = [];
  for (const spans of traces) {
    const found = hopsOf(spans);
    if (!found) continue;
    decided.push({ traceId: spans[0].traceId, ...found });
    for (const h of HOPS) if (found.hops[h] !== undefined) values[h].push(found.hops[h]);
  }
  const compliance = options.slos.flatMap((slo): SloCompliance[] => {
    if (slo.indicator.kind !== 'latency') return [];
    const thresholdMs = slo.indicator.thresholdMs;
    const total = values.endToEnd.length;
    const good = values.endToEnd.filter((v) => v <= thresholdMs).length;
    const actual = total ? Math.round((good / total) * 1e4) / 1e2 : null;
    return [
      {
        name: slo.name,
        thresholdMs,
        objective: slo.objective,
        good,
        total,
        actual,
        met: actual === null ? null : actual >= slo.objective,
      },
    ];
  });
  const slowest = [...decided]
    .sort((a, b) => b.hops.endToEnd! - a.hops.endToEnd!)
    .slice(0, options.slowest)
    .map((d): SlowTrace => {
      const [slowestHop, slowestHopMs] = HOPS.filter((h) => h !== 'endToEnd' && d.hops[h] !== undefined)
        .map((h) => [h, d.hops[h]!] as const)
        .sort((a, b) => b[1] - a[1])[0];
      return {
        traceId: d.traceId,
        endToEndMs: d.hops.endToEnd!,
        outcome: d.outcome,
        slowestHop,
        slowestHopMs,
        link: options.link(d.traceId),
      };
    });
  return {
    fromMs: options.fromMs,
    toMs: options.toMs,
    traces: traces.length,
    decided: decided.length,
    compliance,
    hops: Object.fromEntries(HOPS.map((h) => [h, percentiles(values[h])])) as Record<Hop, Percentiles | null>,
    slowest,
  };
}
