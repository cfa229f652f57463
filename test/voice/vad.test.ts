import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { EspeakSynthesizer } from '../../src/voice/synthesizer.js';
import { createSpeechDetector, EnergyDetector, rms, SileroDetector, SpectralPeak, VoiceActivityDetector, type SpeechDetector, type VadEvent } from '../../src/voice/vad.js';

const RATE = 16_000;
const settings = { sampleRate: RATE, min_speech_ms: 100, end_silence_ms: 600, preroll_ms: 300, max_utterance_ms: 15_000 };
const detectors: [string, () => Promise<SpeechDetector>][] = [
  ['energy', async () => new EnergyDetector(3, RATE)],
  ['silero', () => SileroDetector.load(0.5, 3, RATE)],
];

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
async function feed(vad: VoiceActivityDetector, pcm: Buffer, boost = 1): Promise<VadEvent[]> {
  const events: VadEvent[] = [];
  for (let o = 0; o < pcm.length; o += 3200) events.push(...(await vad.push(pcm.subarray(o, o + 3200), boost)));
  return events;
}

const mix = (voice: Buffer, room: Buffer) => {
  const out = Buffer.from(room);
  for (let i = 0; i + 1 < voice.length && i + 1 < out.length; i += 2) out.writeInt16LE(Math.max(-32768, Math.min(32767, out.readInt16LE(i) + voice.readInt16LE(i))), i);
  return out;
};
const msOf = (pcm: Buffer) => (pcm.length / 2 / RATE) * 1000;

for (const [name, load] of detectors) {
  t.test(`${name}: finds the utterance in room noise: onset time, whole speech kept with pre-roll, ends after the silence`, async (t) => {
    const said = await speech('Hello robot, how are you today?');
    const audio = Buffer.concat([noise(2000), mix(said, noise(msOf(said), 120, 7)), noise(1500, 120, 9)]);
    const detector = await load();
    t.teardown(() => detector.release());
    const events = await feed(new VoiceActivityDetector(settings, detector), audio);
    t.same(events.map((e) => e.type), ['onset', 'utterance']);
    const onset = events[0] as { atMs: number };
    // espeak starts with a little silence; the first speech frame is soon after 2000 ms.
    t.ok(onset.atMs >= 2000 && onset.atMs < 2300, `onset at ${onset.atMs} ms (speech starts at 2000 ms)`);
    const utterance = events[1] as { pcm: Buffer; durationMs: number };
    t.ok(utterance.durationMs >= msOf(said) - 400 && utterance.durationMs <= msOf(said) + 300 + 600 + 100, `utterance ${Math.round(utterance.durationMs)} ms for ${Math.round(msOf(said))} ms of speech`);
  });

  t.test(`${name}: clicks and a slowly louder room are not speech`, async (t) => {
    const detector = await load();
    t.teardown(() => detector.release());
    const vad = new VoiceActivityDetector(settings, detector);
    const events = [...(await feed(vad, noise(1000))), ...(await feed(vad, noise(40, 8000, 3))), ...(await feed(vad, noise(1000)))];
    // The room gets louder (a fan starts) over 5 s.
    for (let i = 1; i <= 50; i++) events.push(...(await feed(vad, noise(100, 120 + i * 8, i))));
    t.same(events, []);
  });

  t.test(`${name}: while the robot talks (boost), its own voice at the microphone is ignored, a person talking over it is not`, async (t) => {
    const said = await speech('I am the robot talking right now.');
    const echo = Buffer.alloc(said.length);
    for (let i = 0; i < said.length; i += 2) echo.writeInt16LE(Math.round(said.readInt16LE(i) * 0.15), i);
    const detector = await load();
    t.teardown(() => detector.release());
    const vad = new VoiceActivityDetector(settings, detector);
    await feed(vad, noise(1000));
    t.same(await feed(vad, mix(echo, noise(msOf(echo))), 4), [], 'the echo of its own voice does not trigger');
    const person = await speech('Stop please!');
    const events = await feed(vad, mix(person, noise(msOf(person) + 1000)), 4);
    t.equal(events[0]?.type, 'onset', 'a person talking over it does');
  });
}

/** A steady sine at `hz`, RMS about 1600 (a person at arm's length) times `gain`, over the room's hiss, plus `offset` (a microphone's DC). */
function tone(ms: number, hz: number, seed = 5, gain = 1, offset = 0): Buffer {
  const room = noise(ms, 30, seed);
  for (let i = 0; i < room.length; i += 2) {
    const v = room.readInt16LE(i) + offset + gain * 2263 * Math.sin((2 * Math.PI * hz * (i / 2)) / RATE);
    room.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), i);
  }
  return room;
}
const samplesOf = (pcm: Buffer) => new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);

t.test('silero: a tone that starts in a quiet room (a kettle, an alarm) is not speech; a person talking over it is', async (t) => {
  const detector = await SileroDetector.load(0.5, 3, RATE);
  t.teardown(() => detector.release());
  const vad = new VoiceActivityDetector(settings, detector);
  t.same(await feed(vad, Buffer.concat([noise(2000, 30), tone(4000, 440)])), [], 'no utterance from the tone');
  const said = await speech('Hello robot, how are you today?');
  const events = await feed(vad, Buffer.concat([mix(said, tone(msOf(said), 440, 8)), noise(1500, 30)]));
  t.same(events.map((e) => e.type), ['onset', 'utterance'], 'speech over the tone is found');
});

t.test('the spectral peak: a sine has nearly all its energy there, speech spreads it, silence has none', async (t) => {
  const peak = new SpectralPeak(512);
  for (const hz of [250, 440, 1000, 3000, 1234.5]) {
    const frame = samplesOf(tone(32, hz));
    t.ok(peak.share(frame) > 0.99, `${hz} Hz: ${peak.share(frame).toFixed(4)}`);
  }
  // A microphone's DC offset changes neither: the tone is still one, the hiss still none.
  t.ok(peak.share(samplesOf(tone(32, 440, 5, 1, 1000))) > 0.99, 'a tone with a DC offset of 1000');
  t.ok(peak.share(samplesOf(tone(32, 440, 5, 0, 1000))) < 0.5, 'hiss with a DC offset of 1000');
  const said = await speech('Could you please be quiet for a while.');
  const samples = samplesOf(said);
  const shares: number[] = [];
  for (let o = 0; o + 512 <= samples.length; o += 512) {
    const frame = samples.subarray(o, o + 512);
    if (rms(frame) > 400) shares.push(peak.share(frame));
  }
  t.ok(shares.length > 20, `${shares.length} loud speech frames`);
  t.ok(Math.max(...shares) < 0.95, `speech's strongest peak holds at most ${Math.max(...shares).toFixed(3)} of a frame's energy`);
  t.equal(peak.share(new Int16Array(512)), 0);
  t.throws(() => new SpectralPeak(500), /power-of-two frame, got 500/);
});

t.test('audio pushed without waiting is judged in the order it came: the same events as pushed one by one', async (t) => {
  const said = await speech('One, two, three.');
  const audio = Buffer.concat([noise(1000), mix(said, noise(msOf(said))), noise(1200)]);
  const one = await SileroDetector.load(0.5, 3, RATE);
  const other = await SileroDetector.load(0.5, 3, RATE);
  t.teardown(async () => {
    await one.release();
    await other.release();
  });
  const awaited = await feed(new VoiceActivityDetector(settings, one), audio);
  const vad = new VoiceActivityDetector(settings, other);
  const pushes: Promise<VadEvent[]>[] = [];
  for (let o = 0; o < audio.length; o += 3200) pushes.push(vad.push(audio.subarray(o, o + 3200)));
  const unawaited = (await Promise.all(pushes)).flat();
  t.same(unawaited.map((e) => e.type), ['onset', 'utterance']);
  t.same(unawaited, awaited);
});

t.test('the config picks the detector; Silero is the default and needs 16 kHz', async (t) => {
  const { listen } = configSchema.parse({}).voice;
  t.equal(listen.detector, 'silero');
  const chosen = await createSpeechDetector(listen, RATE);
  t.teardown(() => chosen.release());
  t.equal(chosen.name, 'silero');
  t.equal((await createSpeechDetector({ ...listen, detector: 'energy' }, RATE)).name, 'energy');
  await t.rejects(SileroDetector.load(0.5, 3, 8000), /needs 16 kHz audio, the microphone gives 8000 Hz/);
});

t.test('a frame the detector fails on counts as silence: the error is reported, the events found still come', async (t) => {
  const said = await speech('Hello robot.');
  const energy = new EnergyDetector(3, RATE);
  let frames = 0;
  const flaky: SpeechDetector = {
    name: 'flaky',
    frameSamples: energy.frameSamples,
    release: () => energy.release(),
    judge: (frame, boost, inUtterance) => {
      if (++frames % 97 === 0) throw new Error('session gone');
      return energy.judge(frame, boost, inUtterance);
    },
  };
  const errors: string[] = [];
  const vad = new VoiceActivityDetector(settings, flaky, (err) => errors.push((err as Error).message));
  const events = await feed(vad, Buffer.concat([noise(1000), mix(said, noise(msOf(said))), noise(1200)]));
  t.same(events.map((e) => e.type), ['onset', 'utterance']);
  t.ok(errors.length > 0 && errors.every((m) => m === 'session gone'), `${errors.length} errors reported`);
});

t.test('progress_ms: while an utterance goes on, its audio so far comes every progress_ms of it; the utterance ends as before', async (t) => {
  const said = await speech('Hello robot, how are you today? I am fine, thank you.');
  const audio = Buffer.concat([noise(1000), mix(said, noise(msOf(said), 120, 3)), noise(1200, 120, 4)]);
  const plain = await feed(new VoiceActivityDetector(settings, new EnergyDetector(3, RATE)), audio);
  const events = await feed(new VoiceActivityDetector({ ...settings, progress_ms: 500 }, new EnergyDetector(3, RATE)), audio);
  const soFar = events.filter((e): e is Extract<VadEvent, { type: 'speech-so-far' }> => e.type === 'speech-so-far');
  t.same(events.filter((e) => e.type !== 'speech-so-far'), plain, 'the same onset and utterance');
  const utterance = events.at(-1) as Extract<VadEvent, { type: 'utterance' }>;
  t.ok(soFar.length >= Math.floor(utterance.durationMs / 500) - 2, `${soFar.length} so far for an utterance of ${Math.round(utterance.durationMs)} ms`);
  t.ok(soFar.every((e) => e.startMs === utterance.startMs), "each from the utterance's onset");
  t.ok(soFar.every((e, i) => i === 0 || e.atMs - soFar[i - 1]!.atMs === 500), 'every 500 ms of audio');
  t.ok(soFar.every((e) => utterance.pcm.subarray(0, e.pcm.length).equals(e.pcm) && e.durationMs === msOf(e.pcm)), "each the utterance's first part");
});

/** Speech wherever there is sound: what a scripted room of talk at set levels needs. */
const anySound = (): SpeechDetector => ({
  name: 'any-sound',
  frameSamples: 512,
  release: async () => {},
  judge: (frame) => {
    const loud = rms(frame) > 50;
    return { starts: loud, continues: loud };
  },
});
/** Talk at a steady level (hiss at `amplitude`); 32 ms frames, so whole frames of it. */
const talk = (frames: number, amplitude: number, seed = 11) => noise(frames * 32, amplitude, seed);
const quiet = (frames: number) => Buffer.alloc(frames * 512 * 2);
const ROOM = 300;
/** The room's talk for 96 frames (3072 ms), then a voice 10 dB above it for 47 frames (1504 ms), then the room on for 64, then silence. */
const roomThenNearer = (rise = 10 ** (10 / 20)) => Buffer.concat([talk(96, ROOM), talk(47, ROOM * rise, 12), talk(64, ROOM, 13), quiet(40)]);
const utterances = (events: VadEvent[]) => events.filter((e): e is Extract<VadEvent, { type: 'utterance' }> => e.type === 'utterance');

t.test('nearer_voice_db: a voice that much above the room talk ends the utterance before it and starts its own, which ends when the voice does', async (t) => {
  const events = await feed(new VoiceActivityDetector({ ...settings, nearer_voice_db: 8 }, anySound()), roomThenNearer());
  t.same(events.map((e) => e.type).slice(0, 4), ['onset', 'utterance', 'onset', 'utterance']);
  const [room, voice] = utterances(events);
  t.same([room!.startMs, room!.endMs], [0, 3072], 'the room talk up to the voice');
  t.equal(events[2]!.type === 'onset' && events[2]!.atMs, 3072, 'the onset where the voice starts');
  t.same([voice!.startMs, voice!.endMs], [3072, 3072 + 1504], 'the voice alone, though the room talks on');
  // Pre-roll (10 frames), the voice (47), and the quiet run that ended it (19 frames reach end_silence_ms).
  t.equal(voice!.durationMs, (10 + 47 + 19) * 32, 'its audio: pre-roll, the voice and the quiet run after it');
});

t.test('nearer_voice_db: no split while the robot talks or just after, when off, for a voice 6 dB above the room, or for a knock', async (t) => {
  const whole = (events: VadEvent[]) => events.map((e) => (e.type === 'utterance' ? `${e.startMs}-${e.endMs}` : e.type));
  const all = ['onset', `0-${(96 + 47 + 64) * 32}`];
  t.same(whole(await feed(new VoiceActivityDetector({ ...settings, nearer_voice_db: 8 }, anySound()), roomThenNearer(), 4)), all, 'boost: its own voice rising from the speaker');
  t.same(whole(await feed(new VoiceActivityDetector({ ...settings, nearer_voice_db: 0 }, anySound()), roomThenNearer())), all, 'nearer_voice_db: 0');
  t.same(whole(await feed(new VoiceActivityDetector({ ...settings, nearer_voice_db: 8 }, anySound()), roomThenNearer(2))), all, '+6 dB');
  // The robot says "Yes?" (352 ms, boost) over the room's talk: once it stops, its words are not a nearer voice either.
  const vad = new VoiceActivityDetector({ ...settings, nearer_voice_db: 8 }, anySound());
  const spoken = [...(await feed(vad, talk(96, ROOM))), ...(await feed(vad, talk(11, ROOM * 10 ** (10 / 20), 12), 4)), ...(await feed(vad, Buffer.concat([talk(100, ROOM, 13), quiet(40)])))];
  t.same(whole(spoken), ['onset', `0-${(96 + 11 + 100) * 32}`], "the robot's own short reply");
  const knock = Buffer.concat([talk(96, ROOM), talk(1, ROOM * 10, 12), talk(110, ROOM, 13), quiet(40)]);
  t.same(whole(await feed(new VoiceActivityDetector({ ...settings, nearer_voice_db: 8 }, anySound()), knock)), all, 'a knock on the table, 20 dB up for one frame');
});

t.test("nearer_voice_db: one person's pauses are not the room's level, so a voice 6 dB above their talk is still theirs", async (t) => {
  // Talk 11 frames (352 ms), pause 5 (160 ms, shorter than end_silence_ms): with the pauses counted the level would be 2.6 dB lower.
  const withPauses = Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.concat([talk(11, ROOM, 20 + i), quiet(5)])));
  const events = await feed(new VoiceActivityDetector({ ...settings, nearer_voice_db: 5 }, anySound()), Buffer.concat([withPauses, talk(20, ROOM * 1.6, 30), quiet(40)]));
  t.same(events.map((e) => e.type), ['onset', 'utterance']);
});
