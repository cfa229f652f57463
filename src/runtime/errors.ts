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

/** An identifier an API gives its errors (`invalid_api_key`, `rate_limit_exceeded`): safe to show. */
const API_ERROR_CODE = /^[a-z][a-z0-9_]{1,40}$/;

/**
 * A failed call to a cloud service, for the log: an HTTP failure by its status, the API's error code
 * and the SDK's error class, never its text, which quotes the service's reply (a service may echo
 * what the person said, and the log goes to MQTT and the web page); anything else cut short.
 */
export function serviceFailure(err: unknown): string {
  const error = asError(err);
  const fields = error as unknown as Record<string, unknown>;
  const status = [fields.status, fields.statusCode].find((value) => typeof value === 'number');
  if (status === undefined) return excerpt(error.message.replace(/\s+/g, ' '), 160);
  const apiCode = [fields.code, fields.type].find((value): value is string => typeof value === 'string' && API_ERROR_CODE.test(value));
  const kind = error.constructor.name && error.constructor.name !== 'Error' ? error.constructor.name : error.name;
  return `HTTP ${status}${apiCode ? ` ${apiCode}` : ''} (${excerpt(kind, 40)})`;
}
