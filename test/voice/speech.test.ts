import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { SpeakerSink } from '../../src/voice/audio-out.js';
import { ChatBrain } from '../../src/voice/brain.js';
import { Speech } from '../../src/voice/speech.js';
import type { SpeechSource } from '../../src/voice/speaking.js';
import { ElevenLabsSynthesizer, EspeakSynthesizer } from '../../src/voice/synthesizer.js';
import { alsaFileDevices } from '../helpers/alsa.js';
import { pcmFor, startFakeCloud, type FakeCloudOptions } from '../../src/dev/fake-cloud.js';
import { capturingLogger } from '../helpers/log.js';

// Loaded before any clock starts: the timings below are the pipeline's, not the SDK's first load
// (about 0.7 s, which the synthesizer starts when it is made).
await import('@elevenlabs/elevenlabs-js');

// The real SDKs against a fake OpenAI + ElevenLabs on 127.0.0.1, and the real speaker package into a
// file-backed ALSA device: what the tests compare is the audio that reached the speaker.
async function setup(teardown: (cleanup: () => unknown) => void, fake: FakeCloudOptions = {}, voice: Record<string, unknown> = {}) {
  const cloud = await startFakeCloud(fake);
  teardown(cloud.close);
  const alsa = alsaFileDevices(mkdtempSync(path.join(os.tmpdir(), 'emobot-speech-')));
  Object.assign(process.env, alsa.env);
  const config = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl, ...voice } }).voice;
  const said: { text: string; source: SpeechSource; at: number }[] = [];
  const speaking: { on: boolean; at: number }[] = [];
  const { log, messages } = capturingLogger();
  const speech = new Speech(
    config,
    new SpeakerSink('default'),
    new EspeakSynthesizer(config, 16_000),
    { brain: new ChatBrain(config, 'sk-test'), synthesizer: new ElevenLabsSynthesizer(config, 'xi-test') },
    { speaking: (on) => speaking.push({ on, at: performance.now() }), said: (text, source) => said.push({ text, source, at: performance.now() }) },
    log,
  );
  return { cloud, speech, said, speaking, logs: messages, speakerBytes: () => readFileSync(alsa.speakerFile) };
}

const sad = { emotion: { label: 'sad', confidence: 0.72, forMs: 8000 }, recentEmotions: ['neutral'] };

t.test('a full turn: the reply is spoken sentence by sentence, in the cloud voice, and the first audio comes early', async (t) => {
  const reply = 'I am sorry you feel down. Do you want to talk? I am listening.';
  const r = await setup((f) => t.teardown(f), { reply, llmTokenGapMs: 40 });
  const started = performance.now();
  await r.speech.respond(sad, new AbortController().signal);
  const sentences = ['I am sorry you feel down.', 'Do you want to talk?', 'I am listening.'];
  t.same(r.said.map((s) => [s.text, s.source]), sentences.map((s) => [s, 'cloud']));
  t.ok(r.speakerBytes().equals(Buffer.concat(sentences.map((s) => pcmFor(s)))), 'the speaker got exactly the synthesised PCM of each sentence, in order');
  t.same(r.speaking.map((s) => s.on), [true, false]);

  const chat = r.cloud.requests.find((q) => q.path === 'POST /v1/chat/completions')!;
  const body = JSON.parse(chat.body) as { model: string; stream: boolean; max_tokens: number; messages: { role: string; content: string }[] };
  t.match(body, { model: 'gpt-4o-mini', stream: true, max_tokens: 150 });
  t.match(body.messages[0]!.content, /You are EmoBot[\s\S]*looks sad \(72% sure\), for 8 s\. Before that they looked neutral\./);
  t.equal(chat.headers.authorization, 'Bearer sk-test');
  const tts = r.cloud.requests.filter((q) => q.path.startsWith('POST /v1/text-to-speech/'));
  t.equal(tts.length, 3);
  t.match(tts[0]!.path, '/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream?output_format=pcm_16000');
  t.equal(tts[0]!.headers['xi-api-key'], 'xi-test');
  t.match(JSON.parse(tts[0]!.body), { text: 'I am sorry you feel down.', model_id: 'eleven_flash_v2_5', voice_settings: { stability: 0.8 } }, 'a calmer voice for a sad listener');
  // 62 characters at 6 per chunk, 40 ms apart: the reply takes ~400 ms to stream; the first sentence
  // (25 characters) is complete after ~5 chunks, so its audio starts long before the reply ends.
  t.ok(r.said[0]!.at - started < 2000, 'first sentence spoken promptly');
});

t.test('API down (500) or rate-limited (429): the offline voice answers; after 3 failures the cloud is left alone', async (t) => {
  const r = await setup((f) => t.teardown(f), { llmStatus: 500 });
  await r.speech.respond(sad, new AbortController().signal);
  t.same(r.said.map((s) => s.source), ['offline']);
  t.equal(r.said[0]!.text, 'You look a little sad. Do you want to talk about it?');
  t.ok(r.speakerBytes().length > 16_000, `espeak-ng audio reached the speaker (${r.speakerBytes().length} bytes)`);
  r.cloud.options.llmStatus = 429;
  await r.speech.respond(sad, new AbortController().signal);
  await r.speech.respond(sad, new AbortController().signal);
  const chatRequests = () => r.cloud.requests.filter((q) => q.path === 'POST /v1/chat/completions').length;
  const before = chatRequests();
  await r.speech.respond(sad, new AbortController().signal);
  t.equal(chatRequests(), before, 'circuit open: no request to the failing API');
  t.equal(r.said.length, 4, 'but the robot still answered');
  t.match(r.logs().join('\n'), /offline only for 60000 ms/);
});

t.test('slow API: no first token within the timeout, the offline voice answers instead', async (t) => {
  const r = await setup((f) => t.teardown(f), { llmHang: true }, { llm: { timeout_ms: 600 } });
  const started = performance.now();
  await r.speech.respond(sad, new AbortController().signal);
  const firstAudio = r.speaking[0]!.at - started;
  t.ok(firstAudio >= 600 && firstAudio < 600 + 1500, `the offline voice started ${Math.round(firstAudio)} ms after the question (timeout 600 ms)`);
  t.equal(r.said[0]!.source, 'offline');
  t.match(r.logs().join('\n'), /no answer within 600 ms/);
});

t.test('malformed SSE: no crash; a reply that broke before any sentence falls back offline', async (t) => {
  const r = await setup((f) => t.teardown(f), { malformedSse: true, reply: 'This is one rather long first sentence without an end' });
  await r.speech.respond({ userText: 'hello?', recentEmotions: [] }, new AbortController().signal);
  t.same(r.said.map((s) => s.source), ['offline']);
  t.equal(r.said[0]!.text, 'Sorry, I cannot think properly right now. My connection is down.');
});

t.test('say: given text goes straight to speech; cancelling stops it', async (t) => {
  const r = await setup((f) => t.teardown(f));
  await r.speech.say('Good morning everyone.', new AbortController().signal);
  t.same(r.said, [{ text: 'Good morning everyone.', source: 'cloud', at: r.said[0]!.at }]);
  t.equal(r.cloud.requests.filter((q) => q.path === 'POST /v1/chat/completions').length, 0, 'no language model involved');
  const controller = new AbortController();
  const long = 'word '.repeat(400);
  const speaking = r.speech.say(long, controller.signal);
  setTimeout(() => controller.abort(), 300);
  const started = performance.now();
  await speaking;
  t.ok(performance.now() - started < 1000, `stopped promptly after cancel (${Math.round(performance.now() - started)} ms)`);
  t.equal(r.said.length, 1, 'the cancelled sentence is not reported as said');
});
