import type { Attributes, Histogram } from '@opentelemetry/api';
import { meter } from './telemetry.js';

/**
 * Histogram buckets for millisecond latencies: fine below 50 ms where the SLA aim is, coarse up to the
 * 2 s till deadline and beyond.
 */
export const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 250, 500, 1000, 2000, 5000,
];

/** An OpenTelemetry histogram of milliseconds, exported on /metrics: SLA percentiles over every event. */
export function latencyHistogram(name: string, description: string): Histogram<Attributes> {
  return meter().createHistogram(name, {
    description,
    unit: 'ms',
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS_MS },
  });
}
