import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { alsaFileDevices } from '../helpers/alsa.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-doctor-'));
const fixture = path.join(import.meta.dirname, '..', 'fixtures', 'tiny-flatten.onnx');

function config(lines: string): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, lines);
  return file;
}

interface Check {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

async function doctor(file: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(['doctor', '--json', '--config', file], env);
  return { code: result.code, checks: (JSON.parse(result.stdout) as { checks: Check[] }).checks };
}

const byName = (checks: Check[], name: string) => checks.find((c) => c.name === name);

t.test('everything in place: every check OK, exit 0', async (t) => {
  const model = path.join(dir, 'ok.onnx');
  copyFileSync(fixture, model);
  copyFileSync(fixture.replace(/\.onnx$/, '.json'), path.join(dir, 'ok.json'));
  const alsa = alsaFileDevices(dir);
  const { code, checks } = await doctor(config(`camera:\n  source: demo\nvision:\n  model: ${model}\n`), alsa.env);
  t.same(checks.filter((c) => c.status !== 'ok'), []);
  t.equal(code, 0);
  t.match(byName(checks, 'camera'), { detail: /demo video .*: 640x480/ });
  t.match(byName(checks, 'model'), { detail: /ok\.onnx: 4 labels, 2x2x1 input/ });
  t.match(byName(checks, 'microphone'), { detail: 'ALSA "default"' });
  t.match(byName(checks, 'execution provider'), { detail: /^runs on cpu; this onnxruntime-node has: cpu\b/ });
});

t.test('a configured execution provider this installation lacks is a warning naming it and the provider that runs', async (t) => {
  const model = path.join(dir, 'ep.onnx');
  copyFileSync(fixture, model);
  copyFileSync(fixture.replace(/\.onnx$/, '.json'), path.join(dir, 'ep.json'));
  const { checks } = await doctor(config(`vision:\n  model: ${model}\n  execution_provider: tensorrt\n`));
  t.match(byName(checks, 'execution provider'), {
    status: 'warn',
    detail: /^vision\.execution_provider tensorrt unavailable \((not installed|this onnxruntime-node .* has no tensorrt).*\), runs on cpu; this onnxruntime-node has: cpu/,
    fix: /Execution providers/,
  });
});

t.test('what is missing is named, with how to fix it, and exit 1', async (t) => {
  const corrupt = path.join(dir, 'corrupt.onnx');
  writeFileSync(corrupt, 'not a model');
  copyFileSync(fixture.replace(/\.onnx$/, '.json'), path.join(dir, 'corrupt.json'));
  const { code, checks } = await doctor(
    config(
      `camera:\n  source: ${path.join(dir, 'none.mp4')}\nvision:\n  model: ${corrupt}\nexpression:\n  board: hardware\n  port: /dev/ttyNOPE0\n  poses:\n    rest: { head_pan: 0 }\n    sleep: { head_pan: 0 }\n    look_up: { head_tilt: 10 }\n    wave2: { head_pan: 10 }\nvoice:\n  microphone: nosuchmic\n  speaker: nosuchspeaker\n  mode: cloud\nremote:\n  mqtt:\n    enabled: true\n    url: mqtt://127.0.0.1:9\n`,
    ),
    { OPENAI_API_KEY: '', ELEVENLABS_API_KEY: 'set' },
  );
  t.equal(code, 1);
  t.match(byName(checks, 'camera'), { status: 'fail', detail: /none\.mp4: no such file/, fix: /plug the camera in/ });
  t.match(byName(checks, 'model'), { status: 'fail', detail: /^emotion model .*corrupt\.onnx: / });
  t.match(byName(checks, 'board'), { status: 'fail', detail: '/dev/ttyNOPE0: no such device' });
  t.match(byName(checks, 'microphone'), { status: 'fail', detail: /nosuchmic/, fix: /arecord -L/ });
  t.match(byName(checks, 'speaker'), { status: 'fail', detail: /nosuchspeaker/, fix: /aplay -L/ });
  t.match(byName(checks, 'spoken commands'), { status: 'warn', detail: /pocketsphinx, noise suppression: held notes, then RNNoise: .*look up; poses that cannot be said: expression\.poses\.wave2 \("wave2" is not in the pronunciation dictionary\)$/, fix: /English words/ });
  t.match(byName(checks, 'OPENAI_API_KEY'), { status: 'warn', fix: /secrets\.env/ });
  t.match(byName(checks, 'ELEVENLABS_API_KEY'), { status: 'ok' });
  t.match(byName(checks, 'mqtt broker'), { status: 'fail', detail: /127\.0\.0\.1:9: connect ECONNREFUSED/ });
});

t.test('a model without its model card fails; an invalid config is reported and defaults are checked', async (t) => {
  const model = path.join(dir, 'nocard.onnx');
  copyFileSync(fixture, model);
  const { checks } = await doctor(config(`vision:\n  model: ${model}\n`));
  t.match(byName(checks, 'model'), { status: 'fail', detail: /model card .*nocard\.json: ENOENT/ });
  const broken = await doctor(config('camera:\n  fps: -1\n'));
  t.match(byName(broken.checks, 'config'), { status: 'fail', detail: /:2:8 camera\.fps/ });
});

t.test('the table for people', async (t) => {
  const alsa = alsaFileDevices(mkdtempSync(path.join(tmpdir(), 'emobot-doctor-alsa-')));
  const result = await runCli(['doctor', '--config', config(`camera:\n  source: demo\nvision:\n  model: ${path.join(dir, 'absent.onnx')}\n`)], alsa.env);
  t.equal(result.code, 1);
  t.match(result.stdout, /^OK {4}camera +demo video/m);
  t.match(result.stdout, /^OK {4}microphone +ALSA "default"$/m);
  t.match(result.stdout, /^FAIL {2}model +.*absent\.onnx not found\n +-> build it/m);
  t.match(result.stdout, /\n1 problem\(s\) found\n$/);
});

t.test('web page: on the robot only by default; open to the network only with a long enough token', async (t) => {
  const local = await doctor(config('camera:\n  source: demo\n'));
  t.match(byName(local.checks, 'web page'), { status: 'ok', detail: 'port 8080 on 127.0.0.1: on this robot only' });
  const open = config('camera:\n  source: demo\nweb:\n  host: 0.0.0.0\n');
  t.match(byName((await doctor(open)).checks, 'web page'), { status: 'fail', detail: /web.host is 0.0.0.0: a page open to the network needs EMOBOT_WEB_TOKEN/, fix: /openssl rand -hex 16/ });
  t.match(byName((await doctor(open, { EMOBOT_WEB_TOKEN: 'short' })).checks, 'web page'), { status: 'fail', detail: /shorter than 16 characters/ });
  const signed = await doctor(open, { EMOBOT_WEB_TOKEN: '0123456789abcdef0123' });
  t.match(byName(signed.checks, 'web page'), { status: 'ok', detail: /open to the network, signing in with EMOBOT_WEB_TOKEN/ });
  t.notMatch(JSON.stringify(signed.checks), /0123456789abcdef0123/, 'the token is never shown');
});
