import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const unit = path.join(import.meta.dirname, '..', '..', 'systemd', 'emobot.service');
const text = readFileSync(unit, 'utf8');
const settings = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);

t.test('the unit is a hardened notify service with a watchdog', async (t) => {
  t.same(settings('Type'), ['notify']);
  t.match(settings('WatchdogSec')[0], /^\d+s$/);
  t.same(settings('Restart'), ['on-failure']);
  t.same(settings('User'), ['emobot']);
  t.same(settings('SupplementaryGroups'), ['video audio dialout gpio i2c']);
  t.same(settings('EnvironmentFile'), ['-/etc/emobot/secrets.env']);
  const hardening: [string, string][] = [['ProtectSystem', 'strict'], ['NoNewPrivileges', 'yes'], ['PrivateTmp', 'yes'], ['ProtectHome', 'yes']];
  for (const [key, value] of hardening) t.same(settings(key), [value], key);
  t.same(settings('ReadWritePaths'), [], 'the daemon cannot write /etc/emobot (its config and secrets)');
  t.same(settings('StateDirectory'), ['emobot']);
  t.same(settings('UMask'), ['0077']);
  t.same(settings('DevicePolicy'), ['closed']);
});

t.test('systemd-analyze security rates the unit 2.0 or lower', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze not installed' }, async (t) => {
  const { stdout } = await promisify(execFile)('systemd-analyze', ['security', '--offline=true', '--no-pager', unit]);
  const exposure = Number(/Overall exposure level for emobot\.service: ([\d.]+)/.exec(stdout)?.[1]);
  t.ok(exposure <= 2.0, `exposure ${exposure}`);
});

t.test('the stop timeout leaves room for the daemon\'s own bounded shutdown', async (t) => {
  const stopS = Number(settings('TimeoutStopSec')[0]!.replace(/s$/, ''));
  t.ok(stopS * 1000 > 5000 + 1000, `TimeoutStopSec=${stopS}s exceeds the default shutdown_timeout_ms + 1 s`);
});

t.test('systemd-analyze verify accepts it', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze not installed' }, async (t) => {
  const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', unit]);
  t.equal(`${stdout}${stderr}`.trim(), '');
});
