/** Native bindings (OpenCV) throw strings, some callbacks reject with anything: normalise to Error. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A value quoted in an error or a log line, cut short: whatever is quoted may come from a file that is
 * not ours or from a remote sender, and a message must never carry a whole file.
 */
export function excerpt(value: string, max = 60): string {
  return value.length > max ? `${value.slice(0, max)}... (${value.length} characters)` : value;
}
