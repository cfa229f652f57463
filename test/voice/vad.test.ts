import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { EspeakSynthesizer } from '../../src/voice/synthesizer.js';
import { VoiceActivityDetector, type VadEvent } from '../../src/voice/vad.js';

const RATE = 16_000;
const settings = { sampleRate: RATE, start_ratio: 3, min_speech_ms: 100, end_silence_ms: 600, preroll_ms: 300, max_utterance_ms: 15_000 };

/** Room noise: quiet random hiss at the given RMS-ish amplitude. */
function noise(ms: number, amplitude = 120, seed = 1): Buffer {
  const pcm = Buffer.alloc(Math.round((RATE * ms) / 1000) * 2);
  for (let i = 0; i < pcm.length; i += 2) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    pcm.writeInt16LE(Math.round((((seed >>> 16) / 65536) * 2 - 1) * amplitude * 1.7), i);
  }
  return pcm;
}

async function speech(text: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of new EspeakSynthesizer(configSchema.parse({}).voice, RATE).synthesize(text, new AbortController().signal)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Feeds audio in 100 ms chunks, as a microphone delivers it. */
function feed(vad: VoiceActivityDetector, pcm: Buffer): VadEvent[] {
  const events: VadEvent[] = [];
  for (let o = 0; o < pcm.length; o += 3200) events.push(...vad.push(pcm.subarray(o, o + 3200)));
  return events;
}

const mix = (voice: Buffer, room: Buffer) => {
  const out = Buffer.from(room);
  for (let i = 0; i + 1 < voice.length && i + 1 < out.length; i += 2) out.writeInt16LE(Math.max(-32768, Math.min(32767, out.readInt16LE(i) + voice.readInt16LE(i))), i);
  return out;
};

t.test('finds the utterance in room noise: onset time, whole speech kept with pre-roll, ends after the silence', async (t) => {
  const said = await speech('Hello robot, how are you today?');
  const saidMs = (said.length / 2 / RATE) * 1000;
  const audio = Buffer.concat([noise(2000), mix(said, noise(saidMs, 120, 7)), noise(1500, 120, 9)]);
  const vad = new VoiceActivityDetector(settings);
  const events = feed(vad, audio);
  t.same(events.map((e) => e.type), ['onset', 'utterance']);
  const onset = events[0] as { atMs: number };
  // espeak starts with a little silence; the first loud frame is soon after 2000 ms.
  t.ok(onset.atMs >= 2000 && onset.atMs < 2300, `onset at ${onset.atMs} ms (speech starts at 2000 ms)`);
  const utterance = events[1] as { pcm: Buffer; durationMs: number };
  t.ok(utterance.durationMs >= saidMs - 400 && utterance.durationMs <= saidMs + 300 + 600 + 100, `utterance ${Math.round(utterance.durationMs)} ms for ${Math.round(saidMs)} ms of speech`);
});

t.test('clicks and a slowly louder room are not speech', async (t) => {
  const vad = new VoiceActivityDetector(settings);
  const click = noise(40, 8000, 3);
  const events = [...feed(vad, noise(1000)), ...feed(vad, click), ...feed(vad, noise(1000))];
  // The room gets louder (a fan starts) over 5 s: the floor follows it.
  for (let i = 1; i <= 50; i++) events.push(...feed(vad, noise(100, 120 + i * 8, i)));
  t.same(events, []);
});

t.test('while the robot talks (boost), its own voice at the microphone is ignored, a person talking over it is not', async (t) => {
  const said = await speech('I am the robot talking right now.');
  const echo = Buffer.alloc(said.length);
  for (let i = 0; i < said.length; i += 2) echo.writeInt16LE(Math.round(said.readInt16LE(i) * 0.15), i);
  const vad = new VoiceActivityDetector(settings);
  feed(vad, noise(1000));
  vad.boost = 4;
  t.same(feed(vad, mix(echo, noise((echo.length / 2 / RATE) * 1000))), [], 'the echo of its own voice does not trigger');
  const person = await speech('Stop please!');
  const events = feed(vad, mix(person, noise((person.length / 2 / RATE) * 1000 + 1000)));
  t.equal(events[0]?.type, 'onset', 'a person talking over it does');
});
