import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
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

/**
 * Where the daemon keeps what it writes itself (the remote-control overlay): systemd's StateDirectory
 * (/var/lib/emobot), $EMOBOT_STATE_DIR, /var/lib/emobot when it exists, else ~/.local/state/emobot.
 */
export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return fromSystemd;
  if (env.EMOBOT_STATE_DIR) return path.resolve(env.EMOBOT_STATE_DIR);
  if (existsSync('/var/lib/emobot')) return '/var/lib/emobot';
  return path.join(env.XDG_STATE_HOME ?? path.join(homedir(), '.local', 'state'), 'emobot');
}
