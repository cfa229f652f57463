/** The delay before retry number `attempt` (1, 2, ...): initial, doubling each time, capped at max. */
export function backoffDelay(attempt: number, delays: { initial_delay_ms: number; max_delay_ms: number }): number {
  // The exponent is capped so that a long outage never overflows to Infinity (0 * Infinity is NaN).
  return Math.min(delays.max_delay_ms, delays.initial_delay_ms * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}
