import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type IClientOptions } from 'mqtt';
import t from 'tap';
import { freePort, Mosquitto, MQTT_PASSWORD } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';

const docs = path.join(import.meta.dirname, '..', '..', 'docs');
const acl = path.join(docs, 'mosquitto.acl');

/** A real mosquitto running docs/mosquitto.acl and docs/mosquitto.conf's settings for these users; returns how to log in as one. */
async function brokerWithAcl(t: { teardown(fn: () => unknown): void }, users: string[], settings = readFileSync(path.join(docs, 'mosquitto.conf'), 'utf8')) {
  const broker = new Mosquitto(await freePort(), undefined, { users, aclFile: acl, settings });
  await broker.start();
  t.teardown(() => broker.stop());
  return (username: string, options: IClientOptions = {}) => mqtt.connectAsync(broker.url, { username, password: MQTT_PASSWORD, ...options });
}

t.test('docs/mosquitto.conf: no account can take a robot\'s client id and have the broker drop the robot', async (t) => {
  const connect = await brokerWithAcl(t, ['desk-bot', 'fleet']);
  const desk = await connect('desk-bot', { clientId: 'emobot-desk-bot', reconnectPeriod: 0 });
  let dropped = false;
  desk.on('close', () => (dropped = true));
  const fleet = await connect('fleet', { clientId: 'emobot-desk-bot', reconnectPeriod: 0 });
  await new Promise((r) => setTimeout(r, 500));
  t.notOk(dropped, 'the robot is still connected');
  await Promise.all([desk.endAsync(), fleet.endAsync()]);
});

t.test('docs/mosquitto.acl keeps each robot in its own subtree and the config commands to the operator', async (t) => {
  const connect = await brokerWithAcl(t, ['desk-bot', 'kitchen-bot', 'fleet', 'homeassistant', 'operator']);
  // The robot itself is the one that receives commands: what reaches it is what the ACL let through.
  const desk = await connect('desk-bot');
  const seen: string[] = [];
  desk.on('message', (topic, payload) => seen.push(`${topic}=${payload.toString()}`));
  await desk.subscribeAsync('emobot/#', { qos: 1 });
  const [fleet, homeassistant, operator] = await Promise.all(['fleet', 'homeassistant', 'operator'].map((user) => connect(user)));
  await desk.publishAsync('emobot/kitchen-bot/state', 'forged', { qos: 1 });
  await fleet!.publishAsync('emobot/desk-bot/status', 'impersonated', { qos: 1 });
  await fleet!.publishAsync('emobot/desk-bot/cmd/say', 'fleet-say', { qos: 1 });
  await fleet!.publishAsync('emobot/desk-bot/cmd/config/set', 'fleet-config', { qos: 1 });
  await homeassistant!.publishAsync('emobot/desk-bot/cmd/mute', 'ha-mute', { qos: 1 });
  await homeassistant!.publishAsync('emobot/desk-bot/cmd/config/reload', 'ha-reload', { qos: 1 });
  await operator!.publishAsync('emobot/desk-bot/cmd/config/set', 'operator-config', { qos: 1 });
  await operator!.publishAsync('emobot/desk-bot/cmd/mode', 'operator-mode', { qos: 1 });
  await waitFor(() => seen.length >= 4, 'the allowed messages');
  // Refused publishes vanish silently (MQTT 3.1.1): give any that slipped through time to arrive.
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen.sort(), [
    'emobot/desk-bot/cmd/config/set=operator-config',
    'emobot/desk-bot/cmd/mode=operator-mode',
    'emobot/desk-bot/cmd/mute=ha-mute',
    'emobot/desk-bot/cmd/say=fleet-say',
  ]);
  await Promise.all([desk, fleet!, homeassistant!, operator!].map((c) => c.endAsync()));
});

t.test('docs/mosquitto.acl lets a robot announce its own Home Assistant sensors and controls, no one else\'s', async (t) => {
  const connect = await brokerWithAcl(t, ['desk-bot', 'homeassistant']);
  const homeassistant = await connect('homeassistant');
  const seen: string[] = [];
  homeassistant.on('message', (topic) => seen.push(topic));
  await homeassistant.subscribeAsync('homeassistant/#', { qos: 1 });
  const desk = await connect('desk-bot');
  // The topics discoveryMessages writes for a robot with commands on.
  const own = ['sensor/emobot_desk-bot/emotion', 'switch/emobot_desk-bot/muted', 'select/emobot_desk-bot/mode', 'text/emobot_desk-bot/say'].map((p) => `homeassistant/${p}/config`);
  for (const topic of [...own, 'homeassistant/switch/emobot_kitchen-bot/muted/config']) await desk.publishAsync(topic, '{}', { qos: 1 });
  await waitFor(() => seen.length >= own.length, 'the robot\'s own discovery configs');
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen.sort(), [...own].sort(), 'not another robot\'s');
  await Promise.all([desk, homeassistant].map((c) => c.endAsync()));
});
