import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { HostMetrics } from '../../src/remote/host-metrics.js';

function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'emobot-host-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

t.test('CPU use between samples, the hottest thermal zone, and Pi throttling flags', async (t) => {
  const root = fakeRoot({
    'proc/stat': 'cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n',
    'sys/class/thermal/thermal_zone0/temp': '48312\n',
    'sys/class/thermal/thermal_zone1/temp': '61500\n',
    'sys/devices/platform/soc/soc:firmware/get_throttled': '0x50005\n',
  });
  const host = new HostMetrics(root);
  const first = host.sample();
  t.equal(first.cpuPercent, undefined, 'no rate before a second sample');
  t.equal(first.cpuTemperatureC, 61.5);
  t.same(first.throttled, { now: true, underVoltage: true, sinceBoot: true, raw: '0x50005' });
  writeFileSync(path.join(root, 'proc/stat'), 'cpu  250 0 150 800 100 0 0 0 0 0\n');
  t.equal(host.sample().cpuPercent, 66.7, '200 busy of 300 jiffies');
});

t.test('a machine without thermal zones or firmware flags reports neither', async (t) => {
  const sample = new HostMetrics(fakeRoot({ 'proc/stat': 'cpu  1 0 1 10 0 0 0 0\n' })).sample();
  t.same(sample, {});
});

t.test('this machine: a real /proc/stat gives a CPU figure on the second sample', async (t) => {
  const host = new HostMetrics();
  host.sample();
  await new Promise((r) => setTimeout(r, 50));
  const { cpuPercent } = host.sample();
  if (!existsSync('/proc/stat')) return t.equal(cpuPercent, undefined, 'no /proc/stat, no figure');
  t.type(cpuPercent, 'number', 'a machine with /proc/stat gives a figure');
  t.ok(cpuPercent! >= 0 && cpuPercent! <= 100, `${cpuPercent}%`);
});
