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

/** An error whose message the robot wrote itself, quoting nothing from outside: logged whole. */
export class OwnMessageError extends Error {}

/** A system call's error code (EACCES, ENOSPC, ECONNREFUSED): safe to show, and what an owner needs. */
const SYSTEM_CODE = /^[A-Z][A-Z0-9_]{1,30}$/;

/**
 * What kind of failure an error is, without its message (which may quote a file or a service's
 * reply): its class and, for a system call's failure, the code, its own or its cause's (fetch
 * reports ECONNREFUSED as the cause of a TypeError).
 */
export function failureKind(err: unknown): string {
  if (!(err instanceof Error)) return 'error';
  const kind = excerpt(err.constructor.name && err.constructor.name !== 'Error' ? err.constructor.name : err.name, 40);
  const code = [(err as NodeJS.ErrnoException).code, ((err.cause ?? {}) as NodeJS.ErrnoException).code].find((c) => typeof c === 'string' && SYSTEM_CODE.test(c));
  return code ? `${kind} ${code}` : kind;
}

/** An identifier an API gives its errors (`invalid_api_key`, `rate_limit_exceeded`): safe to show. */
const API_ERROR_CODE = /^[a-z][a-z0-9_]{1,40}$/;

/**
 * A failed call to a cloud service, for the log: by its HTTP status, the API's error code and the
 * SDK's error class, never by its text, which quotes the service's reply, with or without a status
 * (an error inside a stream that began 200 OK has none): a service may echo what the person said,
 * and the log goes to MQTT and the web page. Only the robot's own messages are logged whole.
 */
export function serviceFailure(err: unknown): string {
  if (err instanceof OwnMessageError) return excerpt(err.message, 160);
  const fields = (err ?? {}) as Record<string, unknown>;
  const status = [fields.status, fields.statusCode].find((value) => typeof value === 'number');
  const apiCode = [fields.code, fields.type].find((value): value is string => typeof value === 'string' && API_ERROR_CODE.test(value));
  const detail = `${failureKind(err)}${apiCode ? ` ${apiCode}` : ''}`;
  return status === undefined ? detail : `HTTP ${status} (${detail})`;
}
