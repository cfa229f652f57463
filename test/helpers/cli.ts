import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ENTRY } from '../../src/runtime/paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled `emobot` CLI, exactly as systemd or a user would. Each run gets its own state
 * directory (remote control's overlay), unless `env` names one, so no test writes to the home folder.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => CliResult; done: Promise<CliResult> } {
  const ownState = env.EMOBOT_STATE_DIR === undefined ? mkdtempSync(path.join(tmpdir(), 'emobot-state-')) : undefined;
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env: { ...process.env, ...(ownState ? { EMOBOT_STATE_DIR: ownState } : {}), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (ownState) child.on('close', () => rmSync(ownState, { recursive: true, force: true }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const output = () => ({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, output, done };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done;
}
