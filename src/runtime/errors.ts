/** Native bindings (OpenCV) throw strings, some callbacks reject with anything: normalise to Error. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
