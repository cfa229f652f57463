import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { Voice } from '../../src/voice/voice.js';
import { alsaFileDevices } from '../helpers/alsa.js';
import { subsystemContext } from '../helpers/context.js';
import { pcmFor, startFakeCloud, type FakeCloudOptions } from '../../src/dev/fake-cloud.js';
import { realtimeMicrophone, spokenRecording } from '../../src/dev/fake-microphone.js';
import { attendedFace, visionFrame } from '../helpers/vision-frame.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-voice-'));
const alsa = alsaFileDevices(dir);
Object.assign(process.env, alsa.env);
/** A microphone recording: silence, a person saying `text` (espeak-ng's voice), silence. */
async function micFile(name: string, text: string, leadMs: number, tailMs = 1500): Promise<string> {
  const file = path.join(dir, `${name}.raw`);
  writeFileSync(file, await spokenRecording(text, leadMs, tailMs));
  return file;
}

/** A camera frame in which the attended person's nose sits `noseShift` eye distances beside the eyes' midpoint (0: facing the robot). */
const seen = (noseShift: number) =>
  visionFrame([
    attendedFace({
      box: { x: 200, y: 100, width: 200, height: 200 },
      landmarks: { rightEye: { x: 260, y: 180 }, leftEye: { x: 340, y: 180 }, nose: { x: 300 + noseShift * 80, y: 220 }, mouth: { x: 300, y: 260 }, rightEar: { x: 210, y: 200 }, leftEar: { x: 390, y: 200 } },
    }),
  ]);

const emotion = (label: string, since = Date.now()) => ({ trackId: 1, attended: true, label, confidence: 0.8, probabilities: {}, box: { x: 0, y: 0, width: 1, height: 1 }, since, at: since });

function start(t: { teardown(fn: () => unknown): void }, voice: Record<string, unknown>, secrets = {}) {
  const config = configSchema.parse({ voice: { proactive: { after_ms: 300, cooldown_ms: 60_000 }, listen: { enabled: false }, ...voice } });
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
  t.same(r.failures, [], 'no handler failed');
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
  t.same(r.failures, [], 'no handler failed');
});

t.test('say requests are spoken through the cloud voice; mute cuts the robot off at once', async (t) => {
  const cloud = await startFakeCloud();
  t.teardown(cloud.close);
  const r = start(t, { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl }, { openaiApiKey: 'sk', elevenlabsApiKey: 'xi' });
  await r.subsystem.start(r.ctx);
  r.bus.emit('voice.say', { text: 'Hello from the dashboard.', by: 'MQTT' });
  await waitFor(() => r.said.length === 1, 'the say text');
  t.match(r.said[0], { text: 'Hello from the dashboard.', source: 'cloud', trigger: 'say' });
  const sentence = 'This is a long announcement to everybody in the shop, and it goes on for a while.';
  r.bus.emit('voice.say', { text: `${sentence} `.repeat(20), by: 'MQTT' });
  await waitFor(() => r.speaking.length === 3, 'the long announcement to start');
  r.bus.emit('robot.state', { mode: 'active', muted: true });
  await waitFor(() => r.speaking.length === 4, 'speaking to stop');
  // How fast is the benchmark's business; here: cut off during its first sentence (one second), of twenty.
  t.ok(readFileSync(alsa.speakerFile).length < pcmFor(sentence).length, 'the speaker stopped within the first sentence');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(r.said.length, 1, 'and nothing more of the announcement was said');
  t.same(r.failures, [], 'no handler failed');
});

/** Microphones started from now on hear `file` in real time (see fake-microphone.ts), until the test ends or the returned function is called. */
function hear(t: { teardown(fn: () => unknown): void }, file: string): () => void {
  const env = realtimeMicrophone(file);
  Object.assign(process.env, env);
  const restore = () => {
    for (const key of Object.keys(env)) delete process.env[key];
  };
  t.teardown(restore);
  return restore;
}

/**
 * The voice with the cloud on the fake services (what they hear and answer), listening through the
 * real-time fake microphone to a person saying `said` after `leadMs`.
 */
async function startListening(t: { teardown(fn: () => unknown): void }, services: FakeCloudOptions & { transcript: string; reply: string }, said: string, leadMs: number, listen: Record<string, unknown> = {}) {
  const cloud = await startFakeCloud(services);
  t.teardown(cloud.close);
  hear(t, await micFile(said.replace(/\W+/g, '-'), said, leadMs));
  const r = start(
    t,
    { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl, listen: { enabled: true, ...listen }, proactive: { enabled: false } },
    { openaiApiKey: 'sk', elevenlabsApiKey: 'xi' },
  );
  return { cloud, r };
}

t.test('a spoken question: heard, transcribed, answered in the cloud voice with what the robot sees', async (t) => {
  const { cloud, r } = await startListening(t, { transcript: 'What is your name?', reply: 'I am EmoBot. Nice to meet you.' }, 'What is your name?', 800);
  const heard: string[] = [];
  r.bus.on('voice.heard', (e) => void heard.push(e.text));
  await r.subsystem.start(r.ctx);
  r.bus.emit('vision.frame', seen(0));
  r.bus.emit('emotion', emotion('happy'));
  await waitFor(() => r.said.length === 2 && r.speaking.length === 2, 'the answer', 15_000);
  t.same(heard, ['What is your name?']);
  t.same(r.said.map((s) => [s.text, s.source, s.trigger]), [['I am EmoBot.', 'cloud', 'reply'], ['Nice to meet you.', 'cloud', 'reply']]);
  const stt = cloud.requests.find((q) => q.path === 'POST /v1/audio/transcriptions')!;
  t.match(stt.body, /name="model"\r\n\r\nwhisper-1/);
  t.match(stt.body, /RIFF....WAVEfmt /s, 'the utterance went as a WAV file');
  const chat = JSON.parse(cloud.requests.find((q) => q.path === 'POST /v1/chat/completions')!.body) as { messages: { content: string }[] };
  t.equal(chat.messages.at(-1)!.content, 'What is your name?');
  t.match(chat.messages[0]!.content, /looks happy/);
  // The ALSA file device starts its file afresh for each utterance.
  const played = readFileSync(alsa.speakerFile);
  t.ok(played.equals(Buffer.concat([pcmFor('I am EmoBot.'), pcmFor('Nice to meet you.')])), 'the speaker got the answer');
  t.same(r.failures, [], 'no handler failed');
});

t.test('barge-in: talking over the robot stops it within its first sentence, and the person is then answered', async (t) => {
  const { r } = await startListening(t, { transcript: 'Wait a moment.', reply: 'Sure, I will wait.' }, 'Wait a moment please.', 2500);
  const bargeIns: number[] = [];
  r.bus.on('voice.barge-in', (e) => void bargeIns.push(e.stopMs));
  await r.subsystem.start(r.ctx);
  // The person is in view, looking away from the robot while it talks: their interruption is for it.
  r.bus.emit('vision.frame', seen(0.8));
  const sentence = 'This is a very long announcement that goes on and on.';
  r.bus.emit('voice.say', { text: `${sentence} `.repeat(6), by: 'MQTT' });
  await waitFor(() => bargeIns.length === 1, 'the barge-in', 15_000);
  // The stop latency is measured by the benchmark (voice.bargeInStopMs); here, that it is a time within the sentence it cut.
  const sentenceMs = (pcmFor(sentence).length / 32_000) * 1000;
  t.ok(bargeIns[0]! >= 0 && bargeIns[0]! < sentenceMs, `silent ${bargeIns[0]} ms after the onset was detected, within the ${Math.round(sentenceMs)} ms sentence`);
  t.equal(r.said.filter((s) => s.trigger === 'say').length, 0, 'the announcement was cut before its first sentence ended');
  await waitFor(() => r.said.some((s) => s.text === 'Sure, I will wait.'), 'the answer to the interruption', 15_000);
  t.same(r.failures, [], 'no handler failed');
});

t.test('offline, a spoken question gets the offline apology; a missing microphone is a warning, not a crash', async (t) => {
  const realMicrophonesAgain = hear(t, await micFile('offline', 'Hello there robot.', 500));
  const r = start(t, { listen: { enabled: true }, proactive: { enabled: false } });
  await r.subsystem.start(r.ctx);
  r.bus.emit('vision.frame', seen(0));
  await waitFor(() => r.said.length === 1, 'the apology', 15_000);
  t.match(r.said[0], { text: 'Sorry, I cannot think properly right now. My connection is down.', source: 'offline', trigger: 'reply' });

  realMicrophonesAgain();
  const broken = start(t, { microphone: 'nosuchmic', listen: { enabled: true } });
  await broken.subsystem.start(broken.ctx);
  await waitFor(() => broken.logs().some((m) => /microphone nosuchmic: .*not listening/.test(m)), 'the microphone warning');
  broken.bus.emit('voice.say', { text: 'Still talking.', by: 'test' });
  await waitFor(() => broken.said.length === 1, 'speech without a microphone');
  t.same([...r.failures, ...broken.failures], [], 'no handler failed, not even without a microphone');
});

t.test('attention: with nobody facing the robot an utterance is dropped on the robot; nothing goes to speech-to-text', async (t) => {
  for (const [what, frames] of [
    ['nobody in view', null],
    ['the person turned away (about 60 degrees)', 0.8],
  ] as const) {
    const { cloud, r } = await startListening(t, { transcript: 'Turn up the TV.', reply: 'No.' }, 'Turn up the TV please.', 500);
    await r.subsystem.start(r.ctx);
    const looking = frames === null ? undefined : setInterval(() => r.bus.emit('vision.frame', seen(frames)), 100);
    t.teardown(() => clearInterval(looking));
    await waitFor(() => r.logs().some((m) => /utterance of \d+ ms dropped on the robot: the attended person did not face the robot/.test(m)), `the drop (${what})`, 15_000);
    clearInterval(looking);
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.same(cloud.requests.filter((q) => q.path === 'POST /v1/audio/transcriptions'), [], `${what}: no audio left the robot`);
    t.same(r.said, [], `${what}: no answer`);
    const blind = r.logs().filter((m) => /vision reports no frames/.test(m)).length;
    t.equal(blind, frames === null ? 1 : 0, `${what}: ${frames === null ? 'a warning that vision reports nothing' : 'no warning: vision sees, nobody looks'}`);
    await r.subsystem.stop();
  }
});

t.test('attention off (voice.listen.require_attention: false): every utterance is understood', async (t) => {
  const { cloud, r } = await startListening(t, { transcript: 'Hello.', reply: 'Hi.' }, 'Hello robot.', 500, { require_attention: false });
  await r.subsystem.start(r.ctx);
  await waitFor(() => r.said.length === 1, 'the answer', 15_000);
  t.equal(cloud.requests.filter((q) => q.path === 'POST /v1/audio/transcriptions').length, 1);
});

t.test('a say while the person\'s words are still being transcribed: the say is spoken, and the words are not answered', async (t) => {
  const { cloud, r } = await startListening(t, { transcript: 'What is the weather?', reply: 'Sunny.', sttDelayMs: 1500 }, 'What is the weather like?', 500, { require_attention: false });
  const heard: string[] = [];
  r.bus.on('voice.heard', (e) => void heard.push(e.text));
  await r.subsystem.start(r.ctx);
  await waitFor(() => cloud.requests.some((q) => q.path === 'POST /v1/audio/transcriptions'), 'the utterance to go to speech-to-text', 15_000);
  r.bus.emit('voice.say', { text: 'Dinner is ready.', by: 'MQTT' });
  await waitFor(() => r.said.length === 1, 'the say text');
  // Past the moment the fake speech-to-text answers (1.5 s after the request), had the robot still been waiting.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  t.same(r.said.map((s) => [s.text, s.trigger]), [['Dinner is ready.', 'say']]);
  t.same(heard, [], 'the person\'s words were not answered after the say');
  t.same(cloud.requests.filter((q) => q.path === 'POST /v1/audio/transcriptions').map((q) => q.abandoned), [true], 'the robot gave up the speech-to-text request');
  t.same(cloud.requests.filter((q) => q.path === 'POST /v1/chat/completions'), [], 'nothing went to the language model');
  t.same(r.failures, [], 'no handler failed');
});

t.test('offline, a spoken command acts through the bus as MQTT\'s commands do; a question to the robot is answered aloud', async (t) => {
  hear(t, await micFile('command-sleep', 'Robot, go to sleep.', 500));
  const r = start(t, { listen: { enabled: true }, proactive: { enabled: false } });
  const control: unknown[] = [];
  r.bus.on('robot.control', (e) => void control.push(e));
  await r.subsystem.start(r.ctx);
  r.bus.emit('vision.frame', seen(0));
  await waitFor(() => control.length === 1, 'the sleep request', 15_000);
  t.same(control, [{ mode: 'sleep', by: 'voice' }]);
  t.ok(r.logs().some((m) => m === 'spoken command: sleep'), 'logged');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(r.said, [], 'a command is not a question: no apology');
  await r.subsystem.stop();

  hear(t, await micFile('command-look', 'How do I look?', 500));
  const asked = start(t, { listen: { enabled: true }, proactive: { enabled: false } });
  await asked.subsystem.start(asked.ctx);
  asked.bus.emit('vision.frame', seen(0));
  asked.bus.emit('emotion', emotion('surprise'));
  await waitFor(() => asked.said.length === 1, 'the answer', 15_000);
  t.match(asked.said[0], { text: 'You look surprised.', source: 'offline', trigger: 'say' });
  t.same([...r.failures, ...asked.failures], [], 'no handler failed');
});

t.test('asleep, the robot hears only "wake up", with nobody in view (its eyes are closed); the rest is dropped on the robot', async (t) => {
  for (const [said, woken] of [['Robot, go to sleep.', false], ['Robot, wake up.', true]] as const) {
    hear(t, await micFile(`asleep-${woken}`, said, 500));
    const robot = { mode: 'sleep' as const, muted: false };
    const config = configSchema.parse({ voice: { listen: { enabled: true }, proactive: { enabled: false } } });
    const context = subsystemContext(config, { robot });
    const subsystem = new Voice();
    t.teardown(() => subsystem.stop());
    const control: unknown[] = [];
    context.bus.on('robot.control', (e) => void control.push(e));
    await subsystem.start(context.ctx);
    if (woken) {
      await waitFor(() => control.length === 1, 'the wake-up request', 15_000);
      t.same(control, [{ mode: 'active', by: 'voice' }], `"${said}" woke it`);
    } else {
      await waitFor(() => context.logs().some((m) => /utterance dropped on the robot: asleep, only "wake up" is heard/.test(m)), 'the drop', 15_000);
      t.same(control, [], `"${said}" changed nothing`);
    }
    await subsystem.stop();
  }
});
