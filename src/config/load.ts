import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { excerpt } from '../runtime/errors.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { fileProblems, type FileProblem } from './files.js';
import { applyOverlay, leaves, patchOverlay } from './overlay.js';
import { configSchema, type Config } from './schema.js';
import { urlCredentials } from './url-credentials.js';

export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';

export interface LoadedConfig {
  config: Config;
  /** Absolute path, or `(built-in defaults)` when no file was found. */
  file: string;
  /** Where remote control's changes live (in the state directory), when the robot runs on a file. */
  overlayFile?: string;
  /** Dotted keys whose value comes from the overlay. */
  overlaid?: string[];
  /** Dotted keys the owner's file sets (the rest are defaults, or the overlay's). */
  fromFile?: string[];
  /** Parts of the overlay that were left out, and why. */
  warnings?: string[];
}

export const BUILT_IN = '(built-in defaults)';

/** First match wins: --config, $EMOBOT_CONFIG, /etc/emobot/config.yaml, ./config.yaml. */
export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return path.resolve(explicit);
  if (env.EMOBOT_CONFIG) return path.resolve(env.EMOBOT_CONFIG);
  for (const candidate of ['/etc/emobot/config.yaml', path.resolve('config.yaml')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The owner's file, validated, with the remote overlay (when given) applied over it. */
export function loadConfigFile(file: string | undefined, overlayFile?: string): LoadedConfig {
  if (!file) return { config: configSchema.parse({}), file: BUILT_IN, overlaid: [], warnings: [] };
  const { config: owner, raw } = parseConfig(readConfigText(file), file);
  const fromFile = leaves(raw).map(([key]) => key.join('.'));
  if (!overlayFile) return { config: owner, file, overlaid: [], warnings: [], fromFile };
  return { ...applyOverlay(owner, overlayFile, (config) => fileProblems(config, file)), file, overlayFile, fromFile };
}

/**
 * A change from remote control: checked against what remote control may change (under the owner's file
 * as it is now on disk) and against the schema, then kept in the overlay. Throws a ConfigError naming
 * the key when refused; nothing is written then.
 */
export function patchRemoteConfig(
  file: string,
  overlayFile: string,
  patch: Record<string, unknown>,
  /** What else the result must satisfy (the subsystems' own checks, such as servos the profile has). */
  alsoCheck: (config: Config) => FileProblem[] = () => [],
): LoadedConfig {
  const owner = parseConfigText(readConfigText(file), file);
  return { ...patchOverlay(owner, overlayFile, patch, (config) => [...fileProblems(config, file), ...alsoCheck(config)]), file, overlayFile };
}

/** Reads a YAML file for parseYamlWithSchema; an unreadable file is a ConfigError naming it. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ key: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
}

export function parseConfigText(text: string, file: string): Config {
  return parseConfig(text, file).config;
}

/** The config and the file as parsed (before defaults), which the overlay is merged into. */
function parseConfig(text: string, file: string): { config: Config; raw: Record<string, unknown> } {
  let raw: Record<string, unknown> = {};
  const config = parseYamlWithSchema(text, file, configSchema, (parsed, data) => {
    raw = data as Record<string, unknown>;
    return fileProblems(parsed, file);
  });
  return { config, raw };
}

/**
 * Parses YAML against a zod schema; every problem becomes a ConfigIssue naming the key, the value and
 * its line. Used for the config and for the files it points at (hardware profiles, servo calibration).
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  /** Checks that need more than the schema (files named by the config); also handed the data as parsed. */
  check?: (parsed: z.output<S>, raw: unknown) => FileProblem[],
): z.output<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  // The parser's messages quote the file's text (a whole line at times), and a foreign file named
  // by the config may be a secret: they are told by kind and position alone.
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { key: '', message: `YAML syntax: ${e.code.toLowerCase().replaceAll('_', ' ')}`, line: pos.line, column: pos.col };
      }),
    );
  }
  // A file that is not a mapping of settings (a binary, /proc/self/environ, a text file) is never quoted.
  if (doc.contents !== null && !isMap(doc.contents)) throw new ConfigError(file, [{ key: '', message: 'not a YAML mapping of settings (is this the right file?)' }]);
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch {
    // An alias to no anchor (`*name`) is found only here, and its error quotes the text after `*`.
    throw new ConfigError(file, [{ key: '', message: 'YAML: an alias (*name) with no anchor (&name) of that name, or a value that cannot be read' }]);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, result.error.issues.flatMap((issue) => locateIssue(doc, lines, issue)));
  const problems = check?.(result.data, raw) ?? [];
  if (problems.length === 0) return result.data;
  throw new ConfigError(file, problems.map((problem) => locateProblem(doc, lines, problem.key.map(String), problem.message)));
}

function locateProblem(doc: Document, lines: LineCounter, keyPath: string[], message: string): ConfigIssue {
  const node = doc.getIn(keyPath, true);
  const position = isNode(node) && node.range ? lines.linePos(node.range[0]) : locateKey(doc, lines, keyPath.slice(0, -1), keyPath.at(-1));
  return { key: quotedKey(keyPath), message, value: quotable(isNode(node) ? node.toJSON() : undefined), ...toIssuePosition(position) };
}

/** Scalars only, strings cut short: a whole map or list is never echoed back. */
function quotable(value: unknown): unknown {
  if (typeof value === 'string') return quoted(value);
  return value !== null && typeof value === 'object' ? undefined : value;
}

/** Keys are the file's text too: a file that is not ours may use its secrets as keys. */
const quotedKey = (keyPath: string[]) => keyPath.map(quoted).join('.');

/**
 * Masked before it is cut, so that a cut cannot leave a password without the `@` that marks it; a
 * token in a URL's query (`?api_key=...`) is masked the same way.
 */
const quoted = (text: string) => excerpt(urlCredentials(withoutUserinfo(text)).masked);

/**
 * `mqtt://robot:hunter2@broker` as `mqtt://***@broker`: a refused URL is quoted in the journal, on the
 * web page and the MQTT log topic, and blanking there knows only the secrets the robot was given.
 * Everything up to the last `@` goes, since a password typed as it is may hold `/`, `:` or `@`.
 */
function withoutUserinfo(text: string): string {
  return text.replace(/[^\n\r\u2028\u2029]+/g, lineWithoutUserinfo);
}

/**
 * One line, scanned once: a regular expression for "a scheme, then anything up to an `@`" retries
 * the scheme from every letter of a long value without `@` (quadratic: a minute for a few hundred
 * kilobytes of one bad value, with the daemon's loop and its watchdog held up meanwhile).
 */
function lineWithoutUserinfo(line: string): string {
  const lastAt = line.lastIndexOf('@');
  for (let colon = line.indexOf(':'); colon !== -1 && colon < lastAt; colon = line.indexOf(':', colon + 1)) {
    // The scheme before this colon begins at the first letter of the run of scheme characters before it.
    let start = -1;
    for (let i = colon - 1; i >= 0 && /[a-z0-9+.-]/i.test(line[i]!); i--) if (/[a-z]/i.test(line[i]!)) start = i;
    if (start === -1) continue;
    const slashes = line.startsWith('//', colon + 1) ? '//' : '';
    return `${line.slice(0, colon + 1)}${slashes}***@${line.slice(lastAt + 1)}`;
  }
  return line;
}

function locateIssue(doc: Document, lines: LineCounter, issue: z.core.$ZodIssue): ConfigIssue[] {
  const keyPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const position = toIssuePosition(locateKey(doc, lines, keyPath, key));
      return { key: quotedKey([...keyPath, key]), message: 'unknown key', ...position };
    });
  }
  const node = doc.getIn(issue.path, true);
  const message = issue.code === 'invalid_type' && !isNode(node) ? 'required' : issue.message;
  return [locateProblem(doc, lines, keyPath, message)];
}

/** Position of `key` inside the map at `parentPath`, or of the map itself when the key is absent. */
function locateKey(doc: Document, lines: LineCounter, parentPath: string[], key: string | undefined) {
  const parent = parentPath.length ? doc.getIn(parentPath, true) : doc.contents;
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isNode(item.key) && String(item.key.toJSON()) === key);
  const range = (pair && isNode(pair.key) ? pair.key.range : undefined) ?? parent.range;
  return range ? lines.linePos(range[0]) : undefined;
}

function toIssuePosition(pos: { line?: number; col?: number } | undefined): { line?: number; column?: number } {
  return pos?.line ? { line: pos.line, column: pos.col } : {};
}
