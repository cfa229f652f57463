import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { ConfigIssue } from '../../src/config/load.js';
import { changedSections, ConfigReloader } from '../../src/config/reload.js';
import { configSchema, type Config, type ConfigSection } from '../../src/config/schema.js';
import { capturingLogger } from '../helpers/log.js';
import { waitFor } from '../helpers/wait.js';

function setup(initial: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-reload-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, initial);
  const applied: { config: Config; changed: ConfigSection[] }[] = [];
  const rejected: ConfigIssue[][] = [];
  const { log } = capturingLogger();
  const reloader = new ConfigReloader(
    file,
    path.join(dir, 'state', 'remote-config.yaml'),
    configSchema.parse({}),
    { applied: async (config, changed) => void applied.push({ config, changed }), rejected: (issues) => void rejected.push(issues) },
    log,
    20,
  );
  return { dir, file, reloader, applied, rejected };
}

t.test('changedSections compares whole sections', async (t) => {
  const a = configSchema.parse({});
  t.same(changedSections(a, configSchema.parse({})), []);
  t.same(changedSections(a, configSchema.parse({ camera: { fps: 10 }, remote: { mqtt: { enabled: true } } })), ['camera', 'remote']);
});

t.test('reload applies a valid file and reports which sections changed', async (t) => {
  const { file, reloader, applied } = setup('');
  writeFileSync(file, 'voice:\n  mode: cloud\n');
  await reloader.reload('test');
  t.same(applied.map((a) => a.changed), [['voice']]);
  t.equal(reloader.config.voice.mode, 'cloud');
});

t.test('a bad edit is rejected and the last good config is kept', async (t) => {
  const { file, reloader, applied, rejected } = setup('');
  writeFileSync(file, 'camera:\n  source: 0\n  fps: 0\n');
  await reloader.reload('test');
  t.same(applied, []);
  t.match(rejected, [[{ key: 'camera.fps', value: 0, line: 3 }]]);
  t.equal(reloader.config.camera.fps, 30);
});

t.test('an atomic replace (write temp + rename, as editors do) is noticed by the watcher', async (t) => {
  const { dir, file, reloader, applied } = setup('');
  reloader.watchFile();
  t.teardown(() => reloader.close());
  const temp = path.join(dir, '.config.yaml.swp');
  writeFileSync(temp, 'log:\n  level: debug\n');
  renameSync(temp, file);
  await waitFor(() => applied.length === 1, 'the watcher to apply the edit');
  t.equal(applied[0]!.config.log.level, 'debug');
});
