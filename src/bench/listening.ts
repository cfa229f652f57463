import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { configSchema } from '../config/schema.js';
import { EspeakSynthesizer } from '../voice/synthesizer.js';
import { createSpeechDetector, rms, VoiceActivityDetector, type SpeechDetector } from '../voice/vad.js';
import { round } from './stats.js';

const run = promisify(execFile);
const RATE = 16_000;
/** Frames of truth: 20 ms, where the clean speech track is louder than this share of its peak frame. */
const TRUTH_FRAME = 320;
const TRUTH_LEVEL = 0.02;
/** The microphone hands audio over in chunks of this length. */
const CHUNK_SAMPLES = 1600;

export const NOISES = ['white', 'pink', 'brown', 'tone', 'beeps', 'chords', 'babble'] as const;
export type Noise = (typeof NOISES)[number];

const SENTENCES = [
  'Hello robot, how are you today?',
  'Could you please be quiet for a while.',
  'What time is it?',
  'I had a long day at work and I am tired.',
  'Go to sleep now.',
  'Look at me, do I look happy?',
  'Thank you, that was very kind.',
  'Wake up, it is morning.',
];
export interface EspeakVoice {
  voice: string;
  words_per_minute: number;
}
export const VOICES: EspeakVoice[] = [
  { voice: 'en-us', words_per_minute: 165 },
  { voice: 'en-gb', words_per_minute: 140 },
  { voice: 'en+f3', words_per_minute: 180 },
  { voice: 'en-029', words_per_minute: 150 },
];
const BABBLE_TEXT =
  'The weather was fine all week and we went to the market on Saturday, where they sold apples, bread and cheese, and then we walked home along the river talking about the news.';

export interface MixScore {
  /** True utterances with a detected utterance overlapping them, of all. */
  utterancesFound: number;
  utterances: number;
  /** True utterances missed, by the noise under them. */
  missedUnder: Partial<Record<Noise, number>>;
  /** Detected utterances in the speech mix that overlap no true one. */
  spuriousInSpeechMix: number;
  /** True utterances with more than one detected onset inside: one person's words cut in two. */
  cutInTwo: number;
  /** Frame level, from the detector's own per-frame verdict. */
  speechFramePrecision: number;
  speechFrameRecall: number;
}

export interface DetectorScore extends MixScore {
  detector: string;
  /** A real voice (REAL_VOICE) in the same noises at the same SNR; absent where its recordings are not installed. */
  realVoice?: MixScore;
  /** Utterances detected in noise alone, per noise, scaled to one hour. */
  falseUtterancesPerHour: Record<Noise, number>;
  /** CPU time to judge one second of audio, in milliseconds. */
  msPerAudioSecond: number;
}

export interface ListeningBench {
  speechMixSeconds: number;
  snrDb: number;
  noiseSecondsEach: number;
  detectors: DetectorScore[];
  /** Silero on the speech mix with `voice.listen.nearer_voice_db` set (off by default). */
  nearerVoice: MixScore & { nearerVoiceDb: number };
}

interface Labelled {
  pcm: Int16Array;
  /** Per 20 ms frame: clean speech there. */
  speechFrames: Uint8Array;
  utterances: { startMs: number; endMs: number; under: Noise }[];
}

export async function speak(text: string, voice: EspeakVoice): Promise<Int16Array> {
  const config = configSchema.parse({ voice: { offline: voice } }).voice;
  const chunks: Buffer[] = [];
  for await (const c of new EspeakSynthesizer(config, RATE).synthesize(text, new AbortController().signal)) chunks.push(c);
  const pcm = Buffer.concat(chunks);
  return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2).slice();
}

/** sox's coloured noise generators, as 16 kHz mono samples. */
async function soxNoise(kind: 'white' | 'pink' | 'brown', seconds: number): Promise<Float32Array> {
  const { stdout } = await run('sox', ['-q', '-R', '-n', '-r', String(RATE), '-b', '16', '-e', 'signed', '-c', '1', '-t', 'raw', '-', 'synth', String(seconds), `${kind}noise`, 'vol', '0.5'], {
    encoding: 'buffer',
    maxBuffer: seconds * RATE * 2 + 1024,
  });
  return Float32Array.from(new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2));
}

/** A plucked-string chord progression with a bass line (C, Am, F, G), as from a radio. */
function chords(seconds: number): Float32Array {
  const out = new Float32Array(seconds * RATE);
  const progression = [
    [130.8, 261.6, 329.6, 392.0],
    [110.0, 220.0, 261.6, 329.6],
    [87.3, 174.6, 220.0, 261.6],
    [98.0, 196.0, 246.9, 293.7],
  ];
  const beat = 0.5 * RATE;
  for (let start = 0, n = 0; start < out.length; start += beat, n++) {
    const chord = progression[Math.floor(n / 4) % progression.length]!;
    for (let i = 0; i < beat * 2 && start + i < out.length; i++) {
      const envelope = Math.exp((-3 * i) / RATE);
      let v = 0;
      for (const f of chord) for (let h = 1; h <= 4; h++) v += Math.sin((2 * Math.PI * f * h * i) / RATE) / (h * h);
      out[start + i]! += (v * envelope) / chord.length;
    }
  }
  return out;
}

/** A steady 440 Hz tone, or 1 kHz beeps (0.4 s on, 0.6 s off) like an appliance. */
function tone(seconds: number, beeping: boolean): Float32Array {
  const out = new Float32Array(seconds * RATE);
  const f = beeping ? 1000 : 440;
  for (let i = 0; i < out.length; i++) out[i] = !beeping || (i % RATE) < 0.4 * RATE ? Math.sin((2 * Math.PI * f * i) / RATE) : 0;
  return out;
}

/** Five voices talking over one another at once, none of them to the robot. */
async function babble(seconds: number): Promise<Float32Array> {
  const out = new Float32Array(seconds * RATE);
  const talkers = await Promise.all(VOICES.concat([{ voice: 'en-gb-scotland', words_per_minute: 170 }]).map((v) => speak(BABBLE_TEXT, v)));
  talkers.forEach((talker, k) => {
    for (let i = 0, offset = Math.round(k * 0.37 * RATE); i < out.length; i++) out[i]! += talker[(i + offset) % talker.length]!;
  });
  return out;
}

async function makeNoise(kind: Noise, seconds: number): Promise<Float32Array> {
  if (kind === 'white' || kind === 'pink' || kind === 'brown') return soxNoise(kind, seconds);
  if (kind === 'tone' || kind === 'beeps') return tone(seconds, kind === 'beeps');
  if (kind === 'chords') return chords(seconds);
  return babble(seconds);
}

const scaled = (x: Float32Array, targetRms: number) => {
  const k = targetRms / Math.max(1e-9, rms(x));
  return x.map((v) => v * k);
};
/**
 * Noise as a room has it: it starts and stops (a TV switched on, a kettle, music between talk), 8 s
 * on and 2 s off over a quiet room's hiss, so the sudden starts are judged too, not only the steady part.
 */
function bursts(noise: Float32Array): Float32Array {
  const quiet = 30;
  let seed = 7;
  return noise.map((v, i) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const hiss = ((seed >>> 16) / 65536 - 0.5) * 2 * quiet * 1.7;
    return (i % (10 * RATE)) < 2 * RATE ? hiss : v + hiss;
  });
}
const toPcm = (x: Float32Array) => Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));

/** The RMS of speech the benchmark talks at (about -26 dBFS, a person at arm's length). */
const SPEECH_RMS = 1600;

/** Each sentence twice, by two of the four espeak-ng voices in turn. */
async function espeakUtterances(): Promise<Int16Array[]> {
  const said: Int16Array[] = [];
  for (let k = 0; k < SENTENCES.length * 2; k++) said.push(await speak(SENTENCES[k >> 1]!, VOICES[k % VOICES.length]!));
  return said;
}

/**
 * A real person's voice: the eight recordings alsa-utils ships for speaker-test (a woman saying
 * "front left", "rear center" and the like, 1.3-1.5 s each), which scripts/setup.sh installs.
 */
const REAL_VOICE = { folder: '/usr/share/sounds/alsa', names: ['Front_Center', 'Front_Left', 'Front_Right', 'Rear_Center', 'Rear_Left', 'Rear_Right', 'Side_Left', 'Side_Right'] };

/** The REAL_VOICE recordings at 16 kHz, with what each says; undefined where they are not installed. */
export async function realVoice(): Promise<{ text: string; speech: Int16Array }[] | undefined> {
  const files = REAL_VOICE.names.map((name) => path.join(REAL_VOICE.folder, `${name}.wav`));
  if (!files.every((file) => existsSync(file))) return undefined;
  return Promise.all(
    files.map(async (file, k) => {
      const { stdout } = await run('sox', ['-q', file, '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed', '-t', 'raw', '-'], { encoding: 'buffer', maxBuffer: 10 * RATE * 2 });
      return { text: REAL_VOICE.names[k]!.replace('_', ' ').toLowerCase(), speech: new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2).slice() };
    }),
  );
}

/**
 * Utterances 2-4 s apart over each noise in turn at `snrDb` (speech RMS over noise RMS, measured
 * over the speech), with the truth from the clean speech track.
 */
async function speechMix(snrDb: number, said: Int16Array[]): Promise<Labelled> {
  const clean: number[] = [];
  const spans: { startMs: number; endMs: number }[] = [];
  for (const [k, speech] of said.entries()) {
    const gapMs = 2000 + ((k * 731) % 2000);
    for (let i = 0; i < (gapMs / 1000) * RATE; i++) clean.push(0);
    const speechGain = SPEECH_RMS / rms(speech);
    const startMs = (clean.length / RATE) * 1000;
    for (const v of speech) clean.push(v * speechGain);
    spans.push({ startMs, endMs: (clean.length / RATE) * 1000 });
  }
  for (let i = 0; i < 2 * RATE; i++) clean.push(0);
  const noiseRms = SPEECH_RMS / 10 ** (snrDb / 20);
  const seconds = Math.ceil(clean.length / RATE);
  const beds = await Promise.all(NOISES.map((n) => makeNoise(n, seconds)));
  const mixed = new Float32Array(clean.length);
  // The noise changes in seven equal stretches of time, so every noise is heard under speech.
  const segment = Math.ceil(clean.length / NOISES.length);
  const gains = beds.map((bed) => noiseRms / rms(bed));
  for (let i = 0; i < clean.length; i++) {
    const which = Math.min(NOISES.length - 1, Math.floor(i / segment));
    mixed[i] = clean[i]! + beds[which]![i]! * gains[which]!;
  }
  const utterances = spans.map((u) => ({ ...u, under: NOISES[Math.min(NOISES.length - 1, Math.floor(((u.startMs / 1000) * RATE) / segment))]! }));
  const truthFrames = Math.floor(clean.length / TRUTH_FRAME);
  const frameRms = Array.from({ length: truthFrames }, (_, f) => rms(clean.slice(f * TRUTH_FRAME, (f + 1) * TRUTH_FRAME)));
  const peak = Math.max(...frameRms);
  return { pcm: toPcm(mixed), speechFrames: Uint8Array.from(frameRms, (r) => (r > peak * TRUTH_LEVEL ? 1 : 0)), utterances };
}

/**
 * A quiet room as a microphone hears it: hiss 40 dB under the speech. Never digital silence, which no
 * microphone delivers, and on which pocketsphinx's feature normalisation misjudges the speech (in a
 * probe, 3 of 12 ordinary sentences came out as commands on silence, none on this hiss).
 */
export const QUIET_ROOM = { kind: 'white', snrDb: 40 } as const;

/** Each noise is made once per length: making babble takes five voices, and every bed is the same each time. */
const beds = new Map<string, Promise<Float32Array>>();
function noiseBed(kind: Noise, seconds: number): Promise<Float32Array> {
  const key = `${kind} ${seconds}`;
  if (!beds.has(key)) beds.set(key, makeNoise(kind, seconds).catch((err: unknown) => {
    beds.delete(key);
    throw err;
  }));
  return beds.get(key)!;
}

/**
 * One sentence as the microphone hears it: `roomS` of room on either side (half a second unless
 * said), at the speech level above, alone or over a noise at `snrDb` (speech RMS over noise RMS),
 * as 16-bit PCM.
 */
export async function spokenInNoise(text: string, voice: EspeakVoice, noise?: { kind: Noise; snrDb: number }, roomS = 0.5): Promise<Buffer> {
  return inNoise(await speak(text, voice), noise, roomS);
}

/** Speech already said (16 kHz samples), as spokenInNoise hears it. */
export async function inNoise(speech: Int16Array, noise?: { kind: Noise; snrDb: number }, roomS = 0.5): Promise<Buffer> {
  const pad = Math.round(RATE * roomS);
  const mixed = new Float32Array(speech.length + 2 * pad);
  const speechGain = SPEECH_RMS / rms(speech);
  speech.forEach((v, i) => (mixed[pad + i] = v * speechGain));
  if (noise) {
    const bed = await noiseBed(noise.kind, Math.ceil(mixed.length / RATE));
    const gain = SPEECH_RMS / 10 ** (noise.snrDb / 20) / rms(bed);
    for (let i = 0; i < mixed.length; i++) mixed[i]! += bed[i]! * gain;
  }
  const pcm = toPcm(mixed);
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

interface Detected {
  segments: { startMs: number; endMs: number }[];
  /** Per 20 ms truth frame: the detector's own verdict said speech there. */
  speechFrames: Uint8Array;
  cpuMs: number;
}

/** Runs the real segmenter over the audio as a microphone would deliver it. */
async function detect(detector: SpeechDetector, pcm: Int16Array, listen = configSchema.parse({}).voice.listen): Promise<Detected> {
  const frames = new Uint8Array(Math.floor(pcm.length / TRUTH_FRAME));
  // The per-frame verdicts are read off the detector as the segmenter asks for them.
  let at = 0;
  const watched: SpeechDetector = {
    name: detector.name,
    frameSamples: detector.frameSamples,
    release: () => detector.release(),
    judge: async (frame, boost, inUtterance) => {
      const verdict = await detector.judge(frame, boost, inUtterance);
      if (verdict.starts || (inUtterance && verdict.continues)) {
        for (let s = at; s < at + frame.length; s += TRUTH_FRAME) if (s / TRUTH_FRAME < frames.length) frames[Math.floor(s / TRUTH_FRAME)] = 1;
      }
      at += frame.length;
      return verdict;
    },
  };
  const vad = new VoiceActivityDetector({ ...listen, sampleRate: RATE }, watched, (err) => {
    throw err;
  });
  const segments: { startMs: number; endMs: number }[] = [];
  let onsetMs = 0;
  const cpu = process.cpuUsage();
  const buffer = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  for (let o = 0; o < pcm.length; o += CHUNK_SAMPLES) {
    for (const event of await vad.push(buffer.subarray(o * 2, (o + CHUNK_SAMPLES) * 2))) {
      if (event.type === 'onset') onsetMs = event.atMs;
      else segments.push({ startMs: onsetMs, endMs: (Math.min(pcm.length, o + CHUNK_SAMPLES) / RATE) * 1000 });
    }
  }
  // An utterance still going when the audio ends was heard too.
  if (vad.speaking) segments.push({ startMs: onsetMs, endMs: (pcm.length / RATE) * 1000 });
  const used = process.cpuUsage(cpu);
  return { segments, speechFrames: frames, cpuMs: (used.user + used.system) / 1000 };
}

const overlaps = (a: { startMs: number; endMs: number }, b: { startMs: number; endMs: number }) => a.startMs < b.endMs && b.startMs < a.endMs;

/** A detector's utterances and speech frames against a mix's truth. */
function scored(mix: Labelled, found: Detected): MixScore {
  let truePositive = 0;
  let said = 0;
  let heard = 0;
  for (let f = 0; f < mix.speechFrames.length; f++) {
    said += mix.speechFrames[f]!;
    heard += found.speechFrames[f]!;
    truePositive += mix.speechFrames[f]! & found.speechFrames[f]!;
  }
  // Found: an onset inside the utterance (a recording's leading silence allowed for), so one long
  // detection over several utterances finds only the first.
  const onsetsInside = (u: { startMs: number; endMs: number }) => found.segments.filter((s) => s.startMs >= u.startMs - 300 && s.startMs < u.endMs).length;
  const missed = mix.utterances.filter((u) => onsetsInside(u) === 0);
  return {
    utterancesFound: mix.utterances.length - missed.length,
    utterances: mix.utterances.length,
    missedUnder: Object.fromEntries(NOISES.map((n) => [n, missed.filter((u) => u.under === n).length]).filter(([, count]) => count)),
    spuriousInSpeechMix: found.segments.filter((s) => !mix.utterances.some((u) => overlaps(s, u))).length,
    cutInTwo: mix.utterances.filter((u) => onsetsInside(u) > 1).length,
    speechFramePrecision: round(truePositive / Math.max(1, heard), 3),
    speechFrameRecall: round(truePositive / Math.max(1, said), 3),
  };
}

/** The nearer-voice split as the README suggests it where a TV or people talk on. */
const NEARER_VOICE_DB = 8;

/**
 * Both speech detectors on the same generated audio: utterances in noise at `snrDb`, and each noise
 * alone for `noiseSeconds`, as loud as the speech and in bursts, which a robot in a living room hears.
 */
export async function benchListening(options: { snrDb?: number; noiseSeconds?: number } = {}): Promise<ListeningBench> {
  const snrDb = options.snrDb ?? 10;
  const noiseSeconds = options.noiseSeconds ?? 120;
  const mix = await speechMix(snrDb, await espeakUtterances());
  const real = await realVoice();
  // Each recording twice, as each sentence above is said twice.
  const realMix = real && (await speechMix(snrDb, [...real, ...real].map(({ speech }) => speech)));
  const noiseAlone = await Promise.all(NOISES.map(async (n) => [n, toPcm(bursts(scaled(await makeNoise(n, noiseSeconds), SPEECH_RMS)))] as const));
  const { listen } = configSchema.parse({}).voice;
  const makers = (['energy', 'silero'] as const).map((detector) => () => createSpeechDetector({ ...listen, detector }, RATE));
  const detectors: DetectorScore[] = [];
  for (const make of makers) {
    const detector = await make();
    try {
      const found = await detect(detector, mix.pcm);
      const falseUtterancesPerHour = {} as Record<Noise, number>;
      let cpuMs = found.cpuMs;
      let audioSeconds = mix.pcm.length / RATE;
      for (const [noise, pcm] of noiseAlone) {
        // A fresh detector per noise: each starts in a quiet room, as the robot does.
        const fresh = await make();
        try {
          const alone = await detect(fresh, pcm);
          falseUtterancesPerHour[noise] = round((alone.segments.length * 3600) / noiseSeconds, 1);
          cpuMs += alone.cpuMs;
          audioSeconds += noiseSeconds;
        } finally {
          await fresh.release();
        }
      }
      let realVoice: MixScore | undefined;
      if (realMix) {
        const fresh = await make();
        try {
          realVoice = scored(realMix, await detect(fresh, realMix.pcm));
        } finally {
          await fresh.release();
        }
      }
      detectors.push({
        detector: detector.name,
        ...scored(mix, found),
        falseUtterancesPerHour,
        msPerAudioSecond: round(cpuMs / audioSeconds, 3),
        ...(realVoice ? { realVoice } : {}),
      });
    } finally {
      await detector.release();
    }
  }
  const silero = await createSpeechDetector({ ...listen, detector: 'silero' }, RATE);
  try {
    const nearerVoice = { nearerVoiceDb: NEARER_VOICE_DB, ...scored(mix, await detect(silero, mix.pcm, { ...listen, nearer_voice_db: NEARER_VOICE_DB })) };
    return { speechMixSeconds: round(mix.pcm.length / RATE, 1), snrDb, noiseSecondsEach: noiseSeconds, detectors, nearerVoice };
  } finally {
    await silero.release();
  }
}
