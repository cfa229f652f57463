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

/**
 * What kind of failure an error is, without its message (which may quote a file): its class and,
 * for a system call's failure, the code (EACCES, ENOSPC), which is what an owner needs to fix it.
 */
export function failureKind(err: unknown): string {
  if (!(err instanceof Error)) return 'error';
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,30}$/.test(code) ? `${excerpt(err.name, 40)} ${code}` : excerpt(err.name, 40);
}
