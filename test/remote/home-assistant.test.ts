import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { discoveryMessages } from '../../src/remote/home-assistant.js';
import { topicsFor } from '../../src/remote/topics.js';

t.test('one retained discovery config per sensor, all on one device, available with the robot', async (t) => {
  const config = configSchema.parse({ robot: { id: 'desk-bot', name: 'Desk Bot' }, remote: { mqtt: { home_assistant: { enabled: true } } } });
  const messages = discoveryMessages(config, topicsFor(config));
  t.same(
    messages.map((m) => m.topic),
    ['emotion', 'faces', 'fps', 'cpu_temperature'].map((o) => `homeassistant/sensor/emobot_desk-bot/${o}/config`),
  );
  t.ok(messages.every((m) => m.retain && m.qos === 1));
  const payloads = messages.map((m) => JSON.parse(m.payload));
  const ids = new Set(payloads.map((p) => p.unique_id));
  t.equal(ids.size, 4, 'unique ids are unique');
  for (const p of payloads) {
    t.match(p, { availability_topic: 'emobot/desk-bot/status', payload_available: 'online', payload_not_available: 'offline', device: { identifiers: ['emobot_desk-bot'], name: 'Desk Bot' } });
    t.match(p.state_topic, /^emobot\/desk-bot\/(state|telemetry)$/);
    t.type(p.value_template, 'string');
  }
  t.match(payloads[3], { device_class: 'temperature', unit_of_measurement: '°C' });
});

t.test('with commands enabled, a mute switch and a mode select that speak the command payloads', async (t) => {
  const config = configSchema.parse({ robot: { id: 'desk-bot' }, remote: { mqtt: { commands: true, home_assistant: { enabled: true } } } });
  const messages = discoveryMessages(config, topicsFor(config));
  const byTopic = Object.fromEntries(messages.map((m) => [m.topic, JSON.parse(m.payload)]));
  t.match(byTopic['homeassistant/switch/emobot_desk-bot/muted/config'], {
    command_topic: 'emobot/desk-bot/cmd/mute',
    payload_on: '{"muted":true}',
    payload_off: '{"muted":false}',
  });
  t.match(byTopic['homeassistant/select/emobot_desk-bot/mode/config'], { command_topic: 'emobot/desk-bot/cmd/mode', options: ['active', 'idle', 'sleep'] });
  const say = byTopic['homeassistant/text/emobot_desk-bot/say/config'];
  t.match(say, { command_topic: 'emobot/desk-bot/cmd/say', max: 500 });
  // Home Assistant renders the template with the typed text; tojson quotes and escapes it.
  const rendered = (say.command_template as string).replace('{{ value | tojson }}', JSON.stringify('Say "hi"\n'));
  t.same(JSON.parse(rendered), { text: 'Say "hi"\n' }, 'the template yields a valid say payload even for quotes');
});
