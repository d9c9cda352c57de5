/**
 * Percentiles of latency samples.
 */

/** Summary of a set of nanosecond samples. */
export interface LatencySummary {
  count: number;
  p50_ns: number;
  p90_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
  mean_ns: number;
}

/** Summarise samples (sorts them in place). Nearest-rank percentiles. */
export function summarize(samples: Float64Array): LatencySummary {
  samples.sort();
  const n = samples.length;
  const at = (q: number) => samples[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i]!;
  return { count: n, p50_ns: at(0.5), p90_ns: at(0.9), p99_ns: at(0.99), p999_ns: at(0.999), max_ns: samples[n - 1]!, mean_ns: sum / n };
}
