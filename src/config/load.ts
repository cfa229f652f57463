import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export interface ConfigIssue {
  /** Dotted key, e.g. `camera.fps`; empty for the document as a whole. */
  key: string;
  message: string;
  /** The offending value as written, when there is one. */
  value?: unknown;
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${file}: invalid config\n${issues.map((i) => `  ${formatIssue(file, i)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line ? `${file}:${issue.line}:${issue.column ?? 1}` : file;
  const key = issue.key ? `${issue.key}: ` : '';
  const value = issue.value === undefined ? '' : ` (got ${JSON.stringify(issue.value)})`;
  return `${where} ${key}${issue.message}${value}`;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path, or `(built-in defaults)` when no file was found. */
  file: string;
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

export function loadConfigFile(file: string | undefined): LoadedConfig {
  if (!file) return { config: configSchema.parse({}), file: BUILT_IN };
  return { config: parseConfigText(readConfigText(file), file), file };
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
  return parseYamlWithSchema(text, file, configSchema);
}

/**
 * Parses YAML against a zod schema; every problem becomes a ConfigIssue naming the key, the value and
 * its line. Used for the config and for the files it points at (hardware profiles, servo calibration).
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { key: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, line: pos.line, column: pos.col };
      }),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(file, result.error.issues.flatMap((issue) => locateIssue(doc, lines, issue)));
}

function locateIssue(doc: Document, lines: LineCounter, issue: z.core.$ZodIssue): ConfigIssue[] {
  const keyPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const position = toIssuePosition(locateKey(doc, lines, keyPath, key));
      return { key: [...keyPath, key].join('.'), message: 'unknown key', ...position };
    });
  }
  const node = doc.getIn(issue.path, true);
  const position = isNode(node) && node.range ? lines.linePos(node.range[0]) : locateKey(doc, lines, keyPath.slice(0, -1), keyPath.at(-1));
  const value = isNode(node) ? node.toJSON() : undefined;
  const message = issue.code === 'invalid_type' && value === undefined ? 'required' : issue.message;
  return [{ key: keyPath.join('.'), message, value, ...toIssuePosition(position) }];
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
