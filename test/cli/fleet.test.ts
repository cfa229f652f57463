import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { fleetCommand } from '../../src/cli/fleet.js';
import { configSchema } from '../../src/config/schema.js';
import { runCli } from '../helpers/cli.js';
import { MQTT_PASSWORD, MQTT_USER, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A broker with a robot client on it, and the config `emobot fleet` reads it with, for running the command in this process. */
async function fleetBroker(t: { teardown(fn: () => unknown): void }) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const robots = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
  t.teardown(() => robots.endAsync());
  const password = process.env.EMOBOT_MQTT_PASSWORD;
  process.env.EMOBOT_MQTT_PASSWORD = MQTT_PASSWORD;
  t.teardown(() => (password === undefined ? delete process.env.EMOBOT_MQTT_PASSWORD : (process.env.EMOBOT_MQTT_PASSWORD = password)));
  return { robots, config: configSchema.parse({ remote: { mqtt: { url: broker.url, username: MQTT_USER } } }) };
}

t.test('emobot fleet lists every robot on the broker, from the retained messages and live telemetry', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  // Two robots as they appear on a broker: retained status and state, periodic telemetry.
  const robots = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
  t.teardown(() => robots.endAsync());
  await robots.publishAsync('emobot/desk-1/status', 'online', { retain: true, qos: 1 });
  await robots.publishAsync('emobot/desk-1/state', JSON.stringify({ emotion: { label: 'sad', confidence: 0.7, since: 1 }, faces: 1, mode: 'active', muted: false, activity: 'following', version: '0.1.0' }), { retain: true, qos: 1 });
  await robots.publishAsync('emobot/hall-2/status', 'offline', { retain: true, qos: 1 });
  await robots.publishAsync('emobot/hall-2/state', 'garbage', { retain: true, qos: 1 });
  const telemetry = setInterval(() => void robots.publishAsync('emobot/desk-1/telemetry', JSON.stringify({ visionFps: 30, cpuPercent: 40, rssMb: 210 })), 200);
  t.teardown(() => clearInterval(telemetry));

  const config = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-fleet-')), 'config.yaml');
  writeFileSync(config, `remote:\n  mqtt:\n    url: ${broker.url}\n    username: ${MQTT_USER}\n`);
  const json = await runCli(['fleet', '--config', config, '--json', '--seconds', '1.5'], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD });
  t.equal(json.code, 0, json.stderr);
  const updates = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: string; status?: string; telemetry?: unknown });
  t.ok(updates.some((u) => u.id === 'desk-1' && u.status === 'online'));
  t.ok(updates.some((u) => u.id === 'hall-2' && u.status === 'offline'));
  t.ok(updates.some((u) => u.id === 'desk-1' && u.telemetry), 'live telemetry arrives');
  t.match(json.stderr, /ignored 1 message\(s\) that no robot sends/);

  const table = await runCli(['fleet', '--config', config, '--seconds', '1'], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD });
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^robot\s+status\s+mode\s+emotion/m);
  t.match(table.stdout, /^desk-1\s+online\s+active\s+sad 70%\s+1\s+following\s+30\s+40%/m);
  t.match(table.stdout, /^hall-2\s+offline/m);
  t.notMatch(json.stderr, /own MQTT user/, 'a fleet user of its own: no warning');

  // Run on a robot with its own config: the robot's user, which under use_username_as_clientid would drop the robot.
  writeFileSync(config, `robot:\n  id: ${MQTT_USER}\nremote:\n  mqtt:\n    url: ${broker.url}\n    username: ${MQTT_USER}\n`);
  const own = await runCli(['fleet', '--config', config, '--json', '--seconds', '0.5'], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD });
  t.match(own.stderr, /connecting as this robot's own MQTT user \(robot\).*give the fleet its own user/);
});

t.test('wrong password: the broker refusal is reported, and the command still ends', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const config = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-fleet-')), 'config.yaml');
  writeFileSync(config, `remote:\n  mqtt:\n    url: ${broker.url}\n    username: ${MQTT_USER}\n`);
  const result = await runCli(['fleet', '--config', config, '--seconds', '1'], { EMOBOT_MQTT_PASSWORD: 'wrong' });
  t.equal(result.code, 0);
  t.match(result.stderr, /Not authorized|Bad username or password/i);
});

t.test('MQTT 5: a message larger than a robot sends is dropped by the broker, never buffered by the fleet', async (t) => {
  const { robots, config } = await fleetBroker(t);
  const huge = JSON.stringify({ mode: 'active', pad: 'x'.repeat(1_000_000) });
  await robots.publishAsync('emobot/huge/state', huge, { retain: true, qos: 1 });
  await robots.publishAsync('emobot/desk-1/status', 'online', { retain: true, qos: 1 });
  const live = setInterval(() => {
    void robots.publishAsync('emobot/huge/telemetry', huge);
    void robots.publishAsync('emobot/desk-1/telemetry', JSON.stringify({ visionFps: 30 }));
  }, 200);
  t.teardown(() => clearInterval(live));
  const stderr = t.capture(process.stderr, 'write', () => true);
  const lines: string[] = [];
  t.equal(await fleetCommand({ config, json: true, seconds: 1.5, write: (line) => void lines.push(line) }), 0);
  const errors = stderr().map((call) => String(call.args[0])).join('');
  t.ok(lines.some((line) => /"telemetry":\{"visionFps":30\}/.test(line)), 'the connection stays up for what robots send');
  t.notMatch(errors, /ignored/, `no large message reached the fleet (${errors.trim()})`);
  t.notOk(lines.some((line) => line.includes('"huge"')));
});

t.test('a terminal gets the table redrawn a few times a second however fast robots report, the last change included', async (t) => {
  const { robots, config } = await fleetBroker(t);
  await robots.publishAsync('emobot/desk-1/status', 'online', { retain: true, qos: 1 });
  const draws: string[] = [];
  const started = Date.now();
  const done = fleetCommand({ config, json: false, interactive: true, seconds: 3, write: (text) => void draws.push(text) });
  await waitFor(() => draws.length > 0, 'the first table');
  const telemetry = (rssMb: number) => robots.publishAsync('emobot/desk-1/telemetry', JSON.stringify({ rssMb }));
  for (let rss = 1; rss <= 300; rss++) await telemetry(rss);
  await waitFor(() => /300 MB/.test(draws.at(-1)!), 'the last of a burst drawn once the burst is over');
  // Reports until the command ends: what it heard last is drawn before it returns, and nothing after.
  let rss = 301;
  const reporting = setInterval(() => void telemetry(rss++), 5);
  t.teardown(() => clearInterval(reporting));
  t.equal(await done, 0);
  const elapsedS = (Date.now() - started) / 1000;
  const drawnBeforeReturn = draws.length;
  clearInterval(reporting);
  await sleep(400);
  t.equal(draws.length, drawnBeforeReturn, 'no redraw after the command returned');
  // At most a few a second (the first table and the last one besides).
  t.ok(draws.length <= elapsedS * 5 + 2, `${draws.length} redraws in ${elapsedS.toFixed(1)} s for ${rss - 1} reports`);
});
