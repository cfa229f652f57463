/**
 * Fault injection against the real daemon (`emobot run`, a separate process) in full mode: camera
 * from an image folder, the INT8 model from a copy that can be broken, the simulated board, the
 * voice against the fake cloud with a person talking through a real-time fake microphone, a speaker
 * ALSA cannot open, and a real mosquitto with commands on. Each fault is injected into the same
 * running daemon; after each, it must still be alive, its state consistent and its promises kept.
 * (A board unplugged mid-run is in test/firmware/emobot-firmata.test.ts, on the simulated Arduino.)
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { stringify } from 'yaml';
import { DEMO_VIDEO, packageRoot } from '../../src/runtime/paths.js';
import { opencv } from '../../src/runtime/opencv.js';
import { startFakeCloud } from '../../src/dev/fake-cloud.js';
import { realtimeMicrophone, spokenRecording } from '../../src/dev/fake-microphone.js';
import { runCli, startCli } from '../helpers/cli.js';
import { MQTT_PASSWORD, MQTT_USER, startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../helpers/mqtt-watch.js';

t.setTimeout(240_000);

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-faults-'));
const ID = 'fault-bot';
const topic = (sub: string) => `emobot/${ID}/${sub}`;

/** 20 frames of the demo video's first face scene as JPEG files: a camera that can be pulled. */
function frameFolder(): string {
  const cv = opencv();
  const folder = path.join(dir, 'camera');
  mkdirSync(folder);
  const capture = new cv.VideoCapture(DEMO_VIDEO);
  for (let i = 0; i < 20; i++) {
    const frame = capture.read();
    cv.imwrite(path.join(folder, `frame-${String(i).padStart(2, '0')}.jpg`), frame);
    frame.release();
  }
  capture.release();
  return folder;
}

/** A person asking a question every ~5 s. */
async function micFile(): Promise<string> {
  const file = path.join(dir, 'mic.raw');
  writeFileSync(file, await spokenRecording('How are you?', 1000, 3500));
  return file;
}

t.test('the real daemon lives through every fault, keeping its state and its promises', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const cloud = await startFakeCloud({ llmFirstTokenMs: 50, ttsFirstByteMs: 20, transcript: 'How are you?', reply: 'I am fine.' });
  t.teardown(() => cloud.close());
  const camera = frameFolder();
  const model = path.join(dir, 'emotion-int8.onnx');
  const goodModel = readFileSync(path.join(packageRoot, 'models', 'emotion-mobilenetv2-int8.onnx'));
  writeFileSync(model, goodModel);
  copyFileSync(path.join(packageRoot, 'models', 'emotion-mobilenetv2.json'), path.join(dir, 'emotion-int8.json'));
  const configFile = path.join(dir, 'config.yaml');
  const config = {
    robot: { id: ID },
    runtime: { status_interval_ms: 500, restart: { initial_delay_ms: 200, max_delay_ms: 1000 } },
    camera: { source: camera, fps: 15, reconnect: { initial_delay_ms: 200, max_delay_ms: 500 } },
    vision: { model },
    expression: { board: 'simulated' },
    voice: {
      mode: 'cloud',
      speaker: 'hw:7,0',
      openai_base_url: cloud.openaiBaseUrl,
      elevenlabs_base_url: cloud.elevenlabsBaseUrl,
      llm: { timeout_ms: 800 },
      proactive: { enabled: false },
      // The camera is one of the faults, and every question must be answered meanwhile: attention has its own tests.
      listen: { require_attention: false },
      circuit_breaker: { failures: 100 },
      // Short, so the person's next question (every ~5 s) does not talk over it.
      offline: { phrases: { reply: ['Sorry, not now.'] } },
    },
    remote: { mqtt: { enabled: true, url: broker.url, username: MQTT_USER, commands: true, conversation: true } },
    web: { port: 0 },
  };
  const goodConfig = stringify(config);
  writeFileSync(configFile, goodConfig);

  const dashboard = await watch(broker.url, `emobot/${ID}/#`);
  t.teardown(dashboard.close);
  const daemon = startCli(['run', '--config', configFile], { OPENAI_API_KEY: 'k', ELEVENLABS_API_KEY: 'k', EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD, ...realtimeMicrophone(await micFile(), true) });
  t.teardown(() => daemon.child.kill('SIGKILL'));

  const json = (m: { payload: string }) => JSON.parse(m.payload) as Record<string, unknown>;
  const latest = (sub: string) => {
    const m = dashboard.on(topic(sub)).at(-1);
    return m ? json(m) : undefined;
  };
  const since = () => dashboard.messages.length;
  const after = (mark: number, sub: string) => dashboard.messages.slice(mark).filter((m) => m.topic === topic(sub)).map(json);
  /** Fresh telemetry only: a figure from before the fault proves nothing about after it. */
  const telemetryUntil = (what: string, mark: number, predicate: (t: Record<string, number>) => boolean, timeoutMs = 15_000) =>
    dashboard.until(what, () => after(mark, 'telemetry').some((x) => predicate(x as Record<string, number>)), timeoutMs);
  const alive = (t: { equal(found: unknown, wanted: unknown, message: string): unknown }) => t.equal(daemon.child.exitCode, null, 'the daemon is alive');
  const publish = async (name: string, payload: object) => {
    const client = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
    await client.publishAsync(topic(`cmd/${name}`), JSON.stringify(payload), { qos: 1 });
    await client.endAsync();
  };
  const robotReplies = (mark: number) => after(mark, 'conversation').filter((c) => c.role === 'robot' && c.trigger === 'reply');

  await dashboard.until('online', () => dashboard.on(topic('status')).at(-1)?.payload === 'online', 30_000);
  await telemetryUntil('frames analysed', 0, (x) => x.visionFps! > 0, 30_000);

  await t.test('ALSA cannot open the speaker: a warning naming it, no abort, and the words still go out as text', async (t) => {
    await dashboard.until('the warning', () => after(0, 'log').some((l) => /hw:7,0/.test(String(l.msg))), 20_000);
    await dashboard.until('a reply to the person', () => robotReplies(0).some((c) => c.source === 'cloud'), 20_000);
    alive(t);
  });

  await t.test('API failures (500, 429, a hang past the timeout, a broken stream): offline answers, then the cloud again', async (t) => {
    for (const fault of [{ llmStatus: 500 }, { llmStatus: 429 }, { llmHang: true }] as const) {
      Object.assign(cloud.options, fault);
      const mark = since();
      await dashboard.until(`an offline answer during ${JSON.stringify(fault)}`, () => robotReplies(mark).some((c) => c.source === 'offline'), 20_000);
      delete cloud.options.llmStatus;
      delete cloud.options.llmHang;
      alive(t);
    }
    cloud.options.malformedSse = true;
    let mark = since();
    // The stream breaks after its first sentence may have been spoken: either way a warning, and no crash.
    await dashboard.until('the broken stream reported', () => after(mark, 'log').some((l) => /cloud voice failed: .*malformed reply stream/.test(String(l.msg))), 20_000);
    cloud.options.malformedSse = false;
    mark = since();
    await dashboard.until('the cloud voice back', () => robotReplies(mark).some((c) => c.source === 'cloud'), 20_000);
    alive(t);
  });

  await t.test('the camera disappears and returns: frames stop, the folder is named, frames resume', async (t) => {
    const away = `${camera}-unplugged`;
    let mark = since();
    renameSync(camera, away);
    await dashboard.until('a warning naming the camera', () => after(mark, 'log').some((l) => String(l.msg).includes(camera)), 15_000);
    await telemetryUntil('no frames', mark, (x) => x.cameraFps === 0);
    alive(t);
    mark = since();
    renameSync(away, camera);
    await telemetryUntil('frames again', mark, (x) => x.cameraFps! > 0 && x.visionFps! > 0);
    alive(t);
  });

  await t.test('the model file is corrupted: vision fails naming it, everything else runs, doctor says so; a good file recovers', async (t) => {
    writeFileSync(model, Buffer.from('this is not an ONNX model'));
    let mark = since();
    // A vision setting changes, so vision restarts and has to load the file again.
    await publish('config/set', { id: 'threads', patch: { vision: { threads: 2 } } });
    await dashboard.until('an error naming the model', () => after(mark, 'log').some((l) => l.level === 'error' && String(l.msg).includes(model)), 15_000);
    await dashboard.until('vision reported as not running', () => after(mark, 'state').some((s) => (s.subsystems as Record<string, string>).vision !== 'running'), 15_000);
    mark = since();
    await telemetryUntil('the camera still delivering', mark, (x) => x.cameraFps! > 0);
    alive(t);
    const doctor = await runCli(['doctor', '--config', configFile, '--json']);
    t.equal(doctor.code, 1, 'doctor fails');
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks;
    t.match(checks.find((c) => c.name === 'model'), { status: 'fail', detail: new RegExp(path.basename(model)) }, 'and names the model file');
    writeFileSync(model, goodModel);
    mark = since();
    await dashboard.until('vision running again', () => (latest('state')?.subsystems as Record<string, string>).vision === 'running', 20_000);
    await telemetryUntil('frames analysed again', mark, (x) => x.visionFps! > 0);
    alive(t);
  });

  await t.test('the config file is replaced with garbage: rejected with the line, the last good config runs on', async (t) => {
    const stateBefore = latest('state')!;
    let mark = since();
    writeFileSync(configFile, 'robot:\n  id: [unclosed\ncamera: {{{\n');
    const rejection = new RegExp(`config rejected, keeping the last good one: ${configFile}:\\d+:\\d+`);
    await dashboard.until('the rejection naming file and line', () => after(mark, 'log').some((l) => rejection.test(String(l.msg))), 15_000);
    await telemetryUntil('frames still analysed', mark, (x) => x.visionFps! > 0);
    t.same({ mode: latest('state')!.mode, muted: latest('state')!.muted }, { mode: stateBefore.mode, muted: stateBefore.muted }, 'state unchanged');
    alive(t);
    mark = since();
    writeFileSync(configFile, stringify({ ...config, camera: { ...config.camera, fps: 10 } }));
    await dashboard.until('a good file applied again', () => /config reloaded/.test(daemon.output().stdout.split('\n').slice(-200).join('\n')), 15_000);
    alive(t);
  });

  await t.test('the broker is killed and restarted: the robot comes back online and obeys commands', async (t) => {
    await broker.stop();
    await new Promise((r) => setTimeout(r, 1500));
    const onlineBefore = dashboard.on(topic('status')).filter((m) => m.payload === 'online').length;
    await broker.start();
    await dashboard.until('online again', () => dashboard.on(topic('status')).filter((m) => m.payload === 'online').length > onlineBefore, 20_000);
    const mark = since();
    await publish('mute', { id: 'm1' });
    await dashboard.until('the mute reply', () => after(mark, 'cmd/mute/reply').some((r) => r.id === 'm1' && r.ok === true), 10_000);
    await dashboard.until('muted in the state', () => latest('state')?.muted === true, 10_000);
    await publish('unmute', { id: 'u1' });
    await dashboard.until('unmuted', () => latest('state')?.muted === false, 10_000);
    alive(t);
  });

  await t.test('SIGTERM in the middle of a sentence: a clean stop, offline on the broker', async (t) => {
    cloud.options.llmHang = true; // no replies now, so only the announcement speaks
    await publish('say', { id: 's1', text: 'This is a long announcement that will be cut short by the stop. '.repeat(3) });
    await dashboard.until('speaking', () => latest('state')?.speaking === true, 15_000);
    daemon.child.kill('SIGTERM');
    const result = await daemon.done;
    t.equal(result.code, 0, 'exit 0');
    await dashboard.until('offline', () => dashboard.on(topic('status')).at(-1)?.payload === 'offline');
    const lines = result.stdout.trim().split('\n');
    const stopping = lines.findIndex((l) => l.includes('"msg":"stopping (SIGTERM)"'));
    t.ok(stopping >= 0, 'the stop was logged');
    t.same(lines.slice(stopping).filter((l) => /"level":(50|60)/.test(l)), [], 'no error while stopping');
    t.match(lines.at(-1), /"msg":"stopped"/, 'and it finished stopping');
  });
});
