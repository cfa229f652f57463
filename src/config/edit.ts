import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Document, isMap, parseDocument } from 'yaml';
import { ConfigError, parseConfigText } from './load.js';
import type { Config } from './schema.js';

/** Dotted paths of every leaf in a patch: {camera: {fps: 10}} -> [['camera', 'fps']]. */
function leaves(patch: Record<string, unknown>, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(patch).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0
      ? leaves(value as Record<string, unknown>, [...prefix, key])
      : [[[...prefix, key], value] as [string[], unknown]],
  );
}

/**
 * Merges a patch into the YAML config file on disk: read from the file as it is now (so an edit made
 * over SSH a moment ago is kept), comments and layout preserved, validated by the one schema, then
 * written to a temporary file and renamed over the original, so a reader never sees half a file.
 * Throws a ConfigError naming the key when the result would be invalid; the file is then untouched.
 */
export function patchConfigFile(file: string, patch: Record<string, unknown>): Config {
  const parsed = parseDocument(readFileSync(file, 'utf8'));
  if (parsed.errors.length) throw new ConfigError(file, [{ key: '', message: 'the file on disk has YAML errors; fix it before patching' }]);
  const doc: Document = isMap(parsed.contents) ? parsed : new Document({});
  for (const [path, value] of leaves(patch)) doc.setIn(path, value);
  const text = doc.toString();
  const config = parseConfigText(text, file);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o640 });
  renameSync(temp, file);
  return config;
}
