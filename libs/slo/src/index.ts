export * from './slo-spec.js';
export * from './prometheus-rules.js';
export * from './grafana-dashboard.js';
export * from './trace-report.js';
