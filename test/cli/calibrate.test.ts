import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { CLI_ENTRY } from '../../src/runtime/paths.js';

const RIGHT = '\x1b[C';
const LEFT = '\x1b[D';
const DOWN = '\x1b[B';
const PAGE_DOWN = '\x1b[6~';

/** Types keys into `emobot calibrate` on the simulated board, as a person at the terminal would. */
function calibrate(args: string[], keys: string[]) {
  const child = spawn(process.execPath, [CLI_ENTRY, 'calibrate', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(keys.join(''));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-calibrate-'));

t.test('jog, set limits, save: the file holds what was set, other servos keep the profile limits', async (t) => {
  const out = path.join(dir, 'robot.yaml');
  const keys = [RIGHT, RIGHT, RIGHT, 'c', PAGE_DOWN, PAGE_DOWN, 'x', DOWN, LEFT, LEFT, 'n', 'i', 's'];
  const result = await calibrate(['--out', out], keys);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, 'head_pan: center = 93°');
  t.match(result.stdout, 'head_pan: max = 103°');
  t.match(result.stdout, 'head_tilt: min = 88°');
  t.match(result.stdout, `saved ${out}`);
  t.match(result.stdout, 'to use it, set in the config', 'tells where to point the config');
  const saved = parse(readFileSync(out, 'utf8')) as { servos: Record<string, Record<string, unknown>> };
  t.match(saved.servos.head_pan, { min: 45, center: 93, max: 103, invert: false });
  t.match(saved.servos.head_tilt, { min: 88, center: 90, max: 120, invert: true });
  t.match(saved.servos.ears, { min: 40, center: 90, max: 140 });
});

t.test('an existing file is the starting point; contradictory limits are refused; quit writes nothing', async (t) => {
  const out = path.join(dir, 'existing.yaml');
  writeFileSync(out, 'servos:\n  head_pan: { min: 70, max: 110, center: 100, max_speed_deg_s: 50 }\n');
  const result = await calibrate(['--out', out], [LEFT, 'x', 'q']);
  t.equal(result.code, 0);
  t.match(result.stdout, 'head_pan at 99°', 'starts at the saved centre');
  t.match(result.stdout, 'head_pan: max 99° would break min <= centre <= max (70 / 100 / 110)');
  t.match(result.stdout, 'quit without saving');
  t.equal(readFileSync(out, 'utf8'), 'servos:\n  head_pan: { min: 70, max: 110, center: 100, max_speed_deg_s: 50 }\n');
});

t.test('a broken calibration file is reported, not overwritten', async (t) => {
  const out = path.join(dir, 'broken.yaml');
  writeFileSync(out, 'servos:\n  tail: { min: 1, max: 2, center: 1, max_speed_deg_s: 5 }\n');
  const result = await calibrate(['--out', out], ['s']);
  t.equal(result.code, 1);
  t.match(result.stderr, /servos\.tail: no such servo in the hardware profile/);
});
