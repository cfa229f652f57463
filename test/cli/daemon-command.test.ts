import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startCli, runCli } from '../helpers/cli.js';
import { fakeNotifySocket } from '../helpers/notify-socket.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-daemon-cli-'));

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('demo: the terminal shows what the robot sees, and it stops by itself', async (t) => {
  const result = await runCli(['demo', '--seconds', '3']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /\[sees\] demo video .*demo-faces\.mp4: 640x480 at 30 fps/);
  t.match(result.stdout, /\[sees\] face #1 at \d+,\d+ \(\d+x\d+ px\)/);
  t.match(result.stdout, /\[feels\] face #1 \(attended\) looks (angry|disgust|fear|happy|sad|surprise|neutral) \(\d+%\)/);
  t.match(result.stdout, /\[status\] camera \d+(\.\d)? fps \| vision \d+(\.\d)? fps, 1 face\(s\), \w+ \d+% \| all subsystems ok/);
  // A machine without a sound card (CI) is told once that speech is shown as text; nothing else.
  const warnings = result.stderr.split('\n').filter((line) => line && !/speaker default: cannot play: .*shown as text only/.test(line));
  t.same(warnings, [], 'no other warnings in a clean demo');
});

t.test('run: an invalid config refuses to start (exit 2) naming key, value and line', async (t) => {
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, 'camera:\n  width: 10\nweb:\n  port: 0\n');
  const result = await runCli(['run', '--config', file]);
  t.equal(result.code, 2);
  t.match(result.stderr, `${file}:2:10 camera.width: Too small: expected number to be >=32 (got 10)`);
});

t.test('run under systemd: READY, STATUS, watchdog, live reload, graceful SIGTERM', async (t) => {
  const socket = fakeNotifySocket();
  t.teardown(socket.close);
  const file = path.join(dir, 'robot.yaml');
  const base = 'robot:\n  id: bench-bot\nruntime:\n  status_interval_ms: 200\nweb:\n  port: 0\ncamera:\n  source: demo\n';
  writeFileSync(file, base);
  const daemon = startCli(['run'], { EMOBOT_CONFIG: file, NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', OPENAI_API_KEY: 'sk-test-secret' });
  t.teardown(() => daemon.child.kill('SIGKILL'));
  // Start-up loads OpenCV and three ONNX models: on a loaded 2-core machine that took over 10 s once.
  await waitFor(() => socket.values('READY').includes('1'), 'READY=1', 60_000);
  await waitFor(() => socket.values('STATUS').some((s) => /^camera \d+(\.\d)? fps/.test(s) && !s.startsWith('camera 0 fps')), 'a STATUS with frames flowing');
  await waitFor(() => socket.values('WATCHDOG').length >= 3, 'watchdog pings');

  writeFileSync(file, `${base}  fps: lots\n`);
  daemon.child.kill('SIGHUP');
  await waitFor(() => /config rejected/.test(daemon.output().stdout), 'the rejection to be logged');
  const pingsAfterReject = socket.values('WATCHDOG').length;
  await waitFor(() => socket.values('WATCHDOG').length > pingsAfterReject + 1, 'the daemon to keep running');

  writeFileSync(file, `${base}  fps: 10\n`);
  await waitFor(() => /config reloaded/.test(daemon.output().stdout), 'the good edit to be applied');

  const stopAsked = Date.now();
  daemon.child.kill('SIGTERM');
  const result = await daemon.done;
  t.equal(result.code, 0);
  t.ok(Date.now() - stopAsked < 6000, 'stopped within the shutdown bound');
  await waitFor(() => socket.values('STOPPING').length === 1, 'STOPPING=1');

  const logs = logLines(result.stdout);
  t.ok(logs.every((l) => l.robot === 'bench-bot'), 'every line is structured JSON tagged with the robot id');
  t.match(logs.find((l) => /config rejected/.test(String(l.msg))), { level: 50, msg: /robot\.yaml:9:8 camera\.fps/ });
  t.match(logs.find((l) => /config reloaded/.test(String(l.msg))), { changed: ['camera'] });
  t.ok(logs.some((l) => l.msg === 'stopped'));
  t.notMatch(result.stdout, /sk-test-secret/, 'secrets never reach the log');
});

t.test('SIGINT twice exits at once', async (t) => {
  const daemon = startCli(['demo']);
  await waitFor(() => /\[sees\]/.test(daemon.output().stdout), 'the demo to run');
  daemon.child.kill('SIGINT');
  daemon.child.kill('SIGINT');
  const result = await daemon.done;
  t.ok(result.code === 0 || result.code === 130, `exit ${result.code}`);
});
