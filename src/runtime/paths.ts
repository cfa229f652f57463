import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package root (holds models/, assets/, hardware/), whether running from src/ or dist/. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Relative paths in the config are relative to the package root, so /opt/emobot works from any cwd. */
export function resolveAsset(p: string): string {
  return path.isAbsolute(p) ? p : path.join(packageRoot, p);
}

export const DEMO_VIDEO = resolveAsset('assets/demo-faces.mp4');

/** The compiled `emobot` command, for tools that start the daemon as its own process. */
export const CLI_ENTRY = resolveAsset('dist/cli/main.js');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
