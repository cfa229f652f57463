import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { patchConfigFile } from '../../src/config/edit.js';

function file(text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-edit-')), 'config.yaml');
  writeFileSync(f, text);
  return f;
}

t.test('a patch is merged into the file with its comments, and validated', async (t) => {
  const f = file('# my robot\ncamera:\n  source: 0 # the USB cam\n  fps: 30\n');
  const config = patchConfigFile(f, { camera: { fps: 15 }, vision: { detection: { detector: 'lbp' } } });
  t.equal(config.camera.fps, 15);
  t.equal(config.vision.detection.detector, 'lbp');
  const text = readFileSync(f, 'utf8');
  t.match(text, /^# my robot$/m);
  t.match(text, /source: 0 # the USB cam/);
  t.match(text, /fps: 15/);
  t.same(readdirSync(path.dirname(f)), ['config.yaml'], 'no temporary file left behind');
});

t.test('an invalid patch names the key and leaves the file untouched', async (t) => {
  const original = 'camera:\n  fps: 30\n';
  const f = file(original);
  t.throws(() => patchConfigFile(f, { camera: { fps: -5 } }), { name: 'ConfigError', issues: [{ key: 'camera.fps', value: -5 }] });
  t.throws(() => patchConfigFile(f, { camera: { colour: 'red' } }), { name: 'ConfigError', issues: [{ key: 'camera.colour', message: 'unknown key' }] });
  t.equal(readFileSync(f, 'utf8'), original);
});

t.test('an empty file can be patched', async (t) => {
  const f = file('');
  t.equal(patchConfigFile(f, { log: { level: 'debug' } }).log.level, 'debug');
  t.match(readFileSync(f, 'utf8'), /log:\n {2}level: debug/);
});
