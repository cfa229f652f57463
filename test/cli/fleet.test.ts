import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { MQTT_PASSWORD, MQTT_USER, startMosquitto } from '../helpers/mosquitto.js';

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
