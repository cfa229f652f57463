import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { CLI_ENTRY } from '../runtime/paths.js';
import { percentiles, type Percentiles } from './stats.js';

export interface Startup {
  runs: number;
  /** Spawning `emobot run` to its first emotion inference on the demo video, as the clock outside sees it. */
  toFirstInferenceMs: Percentiles;
  /** The same from the daemon's own clock (its process start), which leaves out the spawn itself. */
  daemonReportedMs: Percentiles;
}

const FIRST_INFERENCE = /first emotion inference/;

/** Cold starts of the real daemon (a new process each time) on the demo video with simulated hardware. */
export async function startup(runs: number): Promise<Startup> {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-bench-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(
    config,
    stringify({ camera: { source: 'demo' }, expression: { board: 'simulated' }, voice: { mode: 'offline', listen: { enabled: false } }, remote: { mqtt: { enabled: false } }, web: { port: 0 } }),
  );
  const outside: number[] = [];
  const inside: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const { wallMs, reportedMs } = await oneStart(config);
      outside.push(wallMs);
      inside.push(reportedMs);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { runs, toFirstInferenceMs: percentiles(outside), daemonReportedMs: percentiles(inside) };
}

function oneStart(config: string): Promise<{ wallMs: number; reportedMs: number }> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, [CLI_ENTRY, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let found: { wallMs: number; reportedMs: number } | undefined;
    const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let newline;
      while (!found && (newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!FIRST_INFERENCE.test(line)) continue;
        const wallMs = performance.now() - began;
        const reportedMs = Number(/"msSinceProcessStart":(\d+)/.exec(line)?.[1]);
        if (Number.isFinite(reportedMs)) found = { wallMs, reportedMs };
        child.kill('SIGTERM');
      }
    });
    child.on('close', (code) => {
      clearTimeout(timeout);
      if (found) resolve(found);
      else reject(new Error(`emobot run exited (${code}) before its first inference: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}
