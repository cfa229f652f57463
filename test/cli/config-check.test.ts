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

t.test('a good file: exit 0, OK, and each key\'s value with where it comes from: the file, remote control or the default', async (t) => {
  const file = path.join(dir, 'good.yaml');
  const state = mkdtempSync(path.join(tmpdir(), 'emobot-check-state-'));
  writeFileSync(file, 'robot:\n  id: desk-bot\n');
  writeFileSync(path.join(state, 'remote-config.yaml'), 'expression:\n  pose_hold_ms: 4500\nvoice:\n  speaker: hw:9,9\n');
  const result = await runCli(['config', 'check', file], { EMOBOT_STATE_DIR: state });
  t.equal(result.code, 0);
  t.match(result.stdout, `${file}: OK (remote changes: ${path.join(state, 'remote-config.yaml')}, 1 key(s))\n`);
  t.match(result.stdout, /^robot\.id = "desk-bot" {2}\[file\]$/m);
  t.match(result.stdout, /^expression\.pose_hold_ms = 4500 {2}\[remote\]$/m);
  t.match(result.stdout, /^camera\.fps = 30 {2}\[default\]$/m);
  t.match(result.stdout, /^voice\.speaker = "default" {2}\[default\]$/m, 'an overlay key remote control may not change is left out');
  t.match(result.stderr, /voice\.speaker left out: voice\.speaker is changed in the config file only/);
});

t.test('values and keys reach the terminal as text: escape sequences set remotely or written in the file are shown escaped', async (t) => {
  const file = path.join(dir, 'escapes.yaml');
  const state = mkdtempSync(path.join(tmpdir(), 'emobot-check-state-'));
  writeFileSync(file, 'camera:\n  "col\\u001b[2Jour": red\n');
  const broken = await runCli(['config', 'check', file]);
  t.match(broken.stderr, 'camera.col\\u001b[2Jour: unknown key', 'an unknown key with ESC in it');
  writeFileSync(file, 'robot:\n  id: desk-bot\n');
  writeFileSync(path.join(state, 'remote-config.yaml'), 'voice:\n  llm:\n    persona: "calm\\u009b2J\\u001b]52;c;aGk=\\u0007"\n');
  const good = await runCli(['config', 'check', file], { EMOBOT_STATE_DIR: state });
  t.equal(good.code, 0);
  t.match(good.stdout, /^voice\.llm\.persona = "calm\\u009b2J\\u001b\]52;c;aGk=\\u0007" {2}\[remote\]$/m);
  t.notMatch(broken.stderr + good.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no raw control character but line breaks');
});

t.test('a missing file is named', async (t) => {
  const result = await runCli(['config', 'check', path.join(dir, 'absent.yaml')]);
  t.equal(result.code, 1);
  t.match(result.stderr, /absent\.yaml .*cannot read file/);
});

t.test('config without "check <file>" prints its usage', async (t) => {
  const result = await runCli(['config']);
  t.equal(result.code, 2);
  t.match(result.stderr, /usage: emobot config check \[file\]/);
});
