import { RULE_NAMES } from './prometheus-rules.js';
import { errorBudget, type SloSpec } from './slo-spec.js';

/** One query of a panel: PromQL and the legend Grafana shows for each series. */
interface Target {
  expr: string;
  legendFormat: string;
}

interface PanelSpec {
  title: string;
  type: 'stat' | 'timeseries';
  /** a Grafana unit id: percentunit, ms, s, ops, short */
  unit: string;
  targets: Target[];
  description?: string;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const WIDTH = 24;

/** histogram_quantile over every instance, by the given labels */
const quantile = (q: number, metric: string, by: string[] = []) =>
  `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (rate(${metric}_bucket[$__rate_interval])))`;

/**
 * The service panels: rate, errors and duration of what each service does, and consumer lag. Every metric
 * named here is exported by the code (test/slo-rules.spec.ts checks it).
 */
function servicePanels(): Array<{ row: string; panels: PanelSpec[] }> {
  return [
    {
      row: 'End to end',
      panels: [
        {
          title: 'Receipt → offer published (p50 / p95 / p99)',
          type: 'timeseries',
          unit: 'ms',
          description:
            'nunchi_event_to_offer_ms: ingestion receipt to the offer handed to NATS (to the decision when there is no offer). Every event, not only sampled traces.',
          targets: [0.5, 0.95, 0.99].map((q) => ({
            expr: quantile(q, 'nunchi_event_to_offer_ms'),
            legendFormat: `p${q * 100}`,
          })),
        },
      ],
    },
    {
      row: 'Ingestion',
      panels: [
        {
          title: 'Events by outcome and code',
          type: 'timeseries',
          unit: 'ops',
          targets: [
            {
              expr: 'sum by (outcome, code) (rate(nunchi_ingestion_events_total[$__rate_interval]))',
              legendFormat: '{{outcome}} {{code}}',
            },
          ],
        },
        {
          title: 'Acknowledgement latency p99',
          type: 'timeseries',
          unit: 'ms',
          description: 'nunchi_ingestion_ack_ms: receipt to the answer (stored in JetStream, or the error).',
          targets: [
            { expr: quantile(0.99, 'nunchi_ingestion_ack_ms', ['outcome']), legendFormat: '{{outcome}}' },
          ],
        },
      ],
    },
    {
      row: 'Context',
      panels: [
        {
          title: 'Apply latency p50 / p99',
          type: 'timeseries',
          unit: 'ms',
          targets: [0.5, 0.99].map((q) => ({
            expr: quantile(q, 'nunchi_context_apply_ms'),
            legendFormat: `p${q * 100}`,
          })),
        },
        {
          title: 'Hot-tier hit ratio',
          type: 'timeseries',
          unit: 'percentunit',
          targets: [
            {
              expr:
                'sum(rate(nunchi_context_cache_hits_total[$__rate_interval])) / ' +
                '(sum(rate(nunchi_context_cache_hits_total[$__rate_interval])) + sum(rate(nunchi_context_cache_misses_total[$__rate_interval])))',
              legendFormat: 'hit ratio',
            },
          ],
        },
      ],
    },
    {
      row: 'Decision',
      panels: [
        {
          title: 'Decisions by outcome',
          type: 'timeseries',
          unit: 'ops',
          targets: [
            {
              expr: 'sum by (outcome) (rate(nunchi_decisions_total[$__rate_interval]))',
              legendFormat: '{{outcome}}',
            },
          ],
        },
        {
          title: 'Decision latency p99 by outcome',
          type: 'timeseries',
          unit: 'ms',
          targets: [{ expr: quantile(0.99, 'nunchi_decide_ms', ['outcome']), legendFormat: '{{outcome}}' }],
        },
        {
          title: 'Offers by campaign',
          type: 'timeseries',
          unit: 'ops',
          targets: [
            {
              expr: 'sum by (campaign) (rate(nunchi_offers_total[$__rate_interval]))',
              legendFormat: '{{campaign}}',
            },
          ],
        },
      ],
    },
    {
      row: 'Analytics and queues',
      panels: [
        {
          title: 'Decisions counted by analytics',
          type: 'timeseries',
          unit: 'ops',
          targets: [
            {
              expr: 'sum by (outcome) (rate(nunchi_analytics_decisions_counted_total[$__rate_interval]))',
              legendFormat: '{{outcome}}',
            },
          ],
        },
        {
          title: 'Consumer lag: oldest message in hand',
          type: 'timeseries',
          unit: 's',
          targets: [
            {
              expr: 'max by (consumer) (nunchi_consumer_oldest_age_seconds)',
              legendFormat: '{{consumer}}',
            },
          ],
        },
        {
          title: "Each hop's wait before its handler p99 (store → handler start)",
          type: 'timeseries',
          unit: 'ms',
          targets: [
            {
              expr: quantile(0.99, 'nunchi_consumer_wait_ms', ['group', 'stream']),
              legendFormat: '{{group}} ← {{stream}}',
            },
          ],
        },
        {
          title: 'Consumer lag: pending messages',
          type: 'timeseries',
          unit: 'short',
          targets: [
            { expr: 'sum by (consumer) (nunchi_consumer_pending_messages)', legendFormat: '{{consumer}}' },
          ],
        },
      ],
    },
  ];
}

/** For each SLO: compliance over the period, budget left, and how fast it burns now. */
function sloPanels(spec: SloSpec): PanelSpec[] {
  return spec.slos.flatMap((slo): PanelSpec[] => {
    const sel = `{slo="${slo.name}"}`;
    return [
      {
        title: `${slo.name}: good events over ${spec.period} (objective ${slo.objective} %)`,
        type: 'stat',
        unit: 'percentunit',
        description: slo.description,
        targets: [{ expr: `1 - ${RULE_NAMES.periodErrorRatio}${sel}`, legendFormat: slo.name }],
      },
      {
        title: `${slo.name}: error budget remaining`,
        type: 'stat',
        unit: 'percentunit',
        targets: [{ expr: `${RULE_NAMES.budgetRemaining}${sel}`, legendFormat: slo.name }],
      },
      {
        title: `${slo.name}: burn rate (1 = the budget lasts exactly ${spec.period})`,
        type: 'timeseries',
        unit: 'short',
        targets: ['5m', '1h', '6h'].map((w) => ({
          expr: `${RULE_NAMES.errorRatio(w)}${sel} / ${errorBudget(slo)}`,
          legendFormat: w,
        })),
      },
    ];
  });
}

/**
 * A Grafana dashboard (JSON model, schemaVersion 39) over the recording rules and the services' metrics.
 * The data source is a template variable, so that the file imports into any Grafana as it is.
 */
export function grafanaDashboard(spec: SloSpec): Record<string, unknown> {
  const rows = [{ row: 'Service level objectives', panels: sloPanels(spec) }, ...servicePanels()];
  const panels: Array<Record<string, unknown>> = [];
  let id = 1;
  // A cursor that lays panels left to right and wraps: stats a third of the width, graphs a half.
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  const place = (w: number, h: number) => {
    if (x + w > WIDTH) {
      x = 0;
      y += lineHeight;
      lineHeight = 0;
    }
    const pos = { h, w, x, y };
    x += w;
    lineHeight = Math.max(lineHeight, h);
    return pos;
  };
  for (const { row, panels: specs } of rows) {
    x = WIDTH; // a row starts a new line
    panels.push({
      id: id++,
      type: 'row',
      title: row,
      collapsed: false,
      gridPos: place(WIDTH, 1),
      panels: [],
    });
    x = WIDTH;
    for (const p of specs) {
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        ...(p.description ? { description: p.description } : {}),
        datasource: DATASOURCE,
        gridPos: p.type === 'stat' ? place(WIDTH / 3, 5) : place(WIDTH / 2, 8),
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: {},
        targets: p.targets.map((t, n) => ({
          refId: String.fromCharCode(65 + n),
          datasource: DATASOURCE,
          expr: t.expr,
          legendFormat: t.legendFormat,
        })),
      });
    }
  }
  return {
    uid: 'nunchi-slo',
    title: 'Nunchi — SLOs and services',
    description: 'Generated from slo/slo.yaml by npm run slo:generate; do not edit by hand.',
    tags: ['nunchi', 'slo'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: false,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus', current: {} },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
