import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-check-'));

t.test('a broken file: exit 1, each problem with file, line, key and value', async (t) => {
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'robot:\n  id: emobot-7\ncamera:\n  fps: fast\n  colour: red\n');
  const result = await runCli(['config', 'check', file]);
  t.equal(result.code, 1);
  t.match(result.stderr, `${file}:4:8 camera.fps: Invalid input: expected number, received string (got "fast")`);
  t.match(result.stderr, `${file}:5:3 camera.colour: unknown key`);
  t.equal(result.stdout, '');
});

t.test('a good file: exit 0 and OK', async (t) => {
  const file = path.join(dir, 'good.yaml');
  writeFileSync(file, 'robot:\n  id: desk-bot\n');
  const result = await runCli(['config', 'check', file]);
  t.equal(result.code, 0);
  t.equal(result.stdout, `${file}: OK\n`);
});

t.test('a missing file is named', async (t) => {
  const result = await runCli(['config', 'check', path.join(dir, 'absent.yaml')]);
  t.equal(result.code, 1);
  t.match(result.stderr, /absent\.yaml .*cannot read file/);
});

t.test('config without "check <file>" prints its usage', async (t) => {
  const result = await runCli(['config']);
  t.equal(result.code, 2);
  t.match(result.stderr, /usage: emobot config check <file>/);
});
