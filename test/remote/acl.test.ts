import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { freePort, Mosquitto, MQTT_PASSWORD } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';

const acl = path.join(import.meta.dirname, '..', '..', 'docs', 'mosquitto.acl');

t.test('docs/mosquitto.acl keeps each robot in its own subtree', async (t) => {
  const broker = new Mosquitto(await freePort(), undefined, { users: ['desk-bot', 'kitchen-bot', 'fleet'], aclFile: acl });
  await broker.start();
  t.teardown(() => broker.stop());
  const connect = (username: string) => mqtt.connectAsync(broker.url, { username, password: MQTT_PASSWORD });
  const fleet = await connect('fleet');
  const seen: string[] = [];
  fleet.on('message', (topic, payload) => seen.push(`${topic}=${payload.toString()}`));
  await fleet.subscribeAsync('emobot/#', { qos: 1 });
  const desk = await connect('desk-bot');
  await desk.publishAsync('emobot/desk-bot/state', 'mine', { qos: 1 });
  await desk.publishAsync('emobot/kitchen-bot/state', 'forged', { qos: 1 });
  await fleet.publishAsync('emobot/desk-bot/status', 'impersonated', { qos: 1 });
  await fleet.publishAsync('emobot/desk-bot/cmd/reload', '{}', { qos: 1 });
  await waitFor(() => seen.length >= 2, 'the allowed messages');
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen.sort(), ['emobot/desk-bot/cmd/reload={}', 'emobot/desk-bot/state=mine']);
  await Promise.all([fleet.endAsync(), desk.endAsync()]);
});
