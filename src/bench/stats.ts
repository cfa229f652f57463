export interface Percentiles {
  p50: number;
  p95: number;
  mean: number;
}

export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The value at fraction `q` (0..1) of `sorted` (ascending, not empty): the nearest rank, no interpolation. */
export const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: round(quantile(sorted, 0.5)), p95: round(quantile(sorted, 0.95)), mean: round(values.reduce((a, b) => a + b, 0) / values.length) };
}

/** Frames per second sustained when each frame takes the mean of these durations (ms). */
export function fpsOf(durationsMs: number[]): number {
  return durationsMs.length ? round(1000 / percentiles(durationsMs).mean, 1) : 0;
}

/**
 * Resident memory growth from the first sample at or after the warm-up (the first sample when none
 * is that late) to the last; NaN without samples.
 */
export function growthAfterWarmUp<S extends { atS: number; rssMb: number }>(samples: S[], warmUpS: number): { afterWarmUp?: S; atEnd?: S; growthPercent: number } {
  const afterWarmUp = samples.find((s) => s.atS >= warmUpS) ?? samples[0];
  const atEnd = samples.at(-1);
  const growthPercent = afterWarmUp && atEnd ? round(((atEnd.rssMb - afterWarmUp.rssMb) / afterWarmUp.rssMb) * 100, 1) : Number.NaN;
  return { ...(afterWarmUp ? { afterWarmUp } : {}), ...(atEnd ? { atEnd } : {}), growthPercent };
}

export const megabytes = (bytes: number): number => round(bytes / 1048576, 1);
