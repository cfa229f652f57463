export interface Percentiles {
  p50: number;
  p95: number;
  mean: number;
}

export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: round(at(0.5)), p95: round(at(0.95)), mean: round(values.reduce((a, b) => a + b, 0) / values.length) };
}

/** Frames per second sustained when each frame takes the mean of these durations (ms). */
export function fpsOf(durationsMs: number[]): number {
  return durationsMs.length ? round(1000 / percentiles(durationsMs).mean, 1) : 0;
}

export const megabytes = (bytes: number): number => round(bytes / 1048576, 1);
