import { excerpt } from '../runtime/errors.js';
import { escapeControls, jsonLine } from '../runtime/printable.js';

export interface ConfigIssue {
  /** Dotted key, e.g. `camera.fps`; empty for the document as a whole. */
  key: string;
  message: string;
  /** The offending value as written, when there is one (strings already cut short). */
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
  const key = issue.key ? `${escapeControls(issue.key)}: ` : '';
  const value = issue.value === undefined ? '' : ` (got ${excerpt(jsonLine(issue.value), 120)})`;
  return `${where} ${key}${issue.message}${value}`;
}
