import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { Voice } from '../../src/voice/voice.js';
import { alsaFileDevices } from '../helpers/alsa.js';
import { subsystemContext } from '../helpers/context.js';
import { startFakeCloud } from '../helpers/fake-cloud.js';
import { waitFor } from '../helpers/wait.js';

Object.assign(process.env, alsaFileDevices(mkdtempSync(path.join(os.tmpdir(), 'emobot-voice-'))).env);

const emotion = (label: string, since = Date.now()) => ({ trackId: 1, attended: true, label, confidence: 0.8, probabilities: {}, box: { x: 0, y: 0, width: 1, height: 1 }, since, at: since });

function start(t: { teardown(fn: () => unknown): void }, voice: Record<string, unknown>, secrets = {}) {
  const config = configSchema.parse({ voice: { proactive: { after_ms: 300, cooldown_ms: 60_000 }, ...voice } });
  const context = subsystemContext(config, { secrets });
  const subsystem = new Voice();
  t.teardown(() => subsystem.stop());
  const said: { text: string; source: string; trigger: string }[] = [];
  const speaking: boolean[] = [];
  context.bus.on('voice.said', (e) => void said.push(e));
  context.bus.on('voice.speaking', (e) => void speaking.push(e.speaking));
  return { ...context, subsystem, said, speaking };
}

t.test('speaks up when the emotion changes and holds, once per cooldown, offline without keys', async (t) => {
  const r = start(t, { mode: 'cloud' });
  await r.subsystem.start(r.ctx);
  t.match(r.logs().join('\n'), /offline only \(OPENAI_API_KEY and ELEVENLABS_API_KEY are needed\)/);
  r.bus.emit('emotion', emotion('sad'));
  await waitFor(() => r.said.length === 1 && r.speaking.length === 2, 'the robot to speak up', 10_000);
  t.same(r.said[0], { text: 'You look a little sad. Do you want to talk about it?', source: 'offline', trigger: 'emotion', at: r.said[0] && (r.said[0] as { at?: number }).at });
  t.same(r.speaking, [true, false], 'speaking started and ended (the head animates meanwhile)');
  r.bus.emit('emotion', emotion('happy'));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(r.said.length, 1, 'within the cooldown it does not speak again');
});

t.test('a fleeting emotion, an ignored one, or a lost face: nothing is said', async (t) => {
  const r = start(t, { proactive: { after_ms: 500, cooldown_ms: 0, emotions: ['sad'] } });
  await r.subsystem.start(r.ctx);
  r.bus.emit('emotion', emotion('sad'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  r.bus.emit('emotion', emotion('neutral'));
  r.bus.emit('emotion', emotion('happy'));
  await new Promise((resolve) => setTimeout(resolve, 800));
  r.bus.emit('emotion', emotion('sad'));
  r.bus.emit('face.lost', { trackId: 1, at: Date.now(), visibleForMs: 1000 });
  await new Promise((resolve) => setTimeout(resolve, 800));
  t.same(r.said, []);
});

t.test('say requests are spoken through the cloud voice; mute cuts the robot off at once', async (t) => {
  const cloud = await startFakeCloud();
  t.teardown(cloud.close);
  const r = start(t, { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl }, { openaiApiKey: 'sk', elevenlabsApiKey: 'xi' });
  await r.subsystem.start(r.ctx);
  r.bus.emit('voice.say', { text: 'Hello from the dashboard.', by: 'MQTT' });
  await waitFor(() => r.said.length === 1, 'the say text');
  t.match(r.said[0], { text: 'Hello from the dashboard.', source: 'cloud', trigger: 'say' });
  r.bus.emit('voice.say', { text: `${'This is a long announcement. '.repeat(20)}`, by: 'MQTT' });
  await waitFor(() => r.speaking.length === 3, 'the long announcement to start');
  const muted = performance.now();
  r.bus.emit('robot.state', { mode: 'active', muted: true });
  await waitFor(() => r.speaking.length === 4, 'speaking to stop');
  t.ok(performance.now() - muted < 150, `stopped ${Math.round(performance.now() - muted)} ms after mute`);
});
