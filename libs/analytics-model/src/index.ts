export * from './attribution.js';
export * from './confidence-sequence.js';
export * from './sample-ratio.js';
export * from './winsorised-revenue.js';
export * from './campaign-report.js';
