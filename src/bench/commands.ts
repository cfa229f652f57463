import { configSchema } from '../config/schema.js';
import { CommandRecognizer, SPOT_EVERY_MS, type DecodedPiece } from '../voice/commands.js';
import { NoiseSuppressor } from '../voice/denoise.js';
import { inNoise, QUIET_ROOM, realVoice, spokenInNoise, VOICES, type Noise } from './listening.js';
import { percentiles, type Percentiles } from './stats.js';

/**
 * Commands as people say them, and the command each is; the poses are the default config's. All but
 * the two questions are said to the robot by name, as they must be.
 */
export const COMMAND_SENTENCES: [text: string, command: string][] = [
  ['Robot, go to sleep.', 'sleep'],
  ['Robot, wake up.', 'wake-up'],
  ['Robot, please speak again.', 'speak-again'],
  ['How do I look?', 'how-do-i-look'],
  ['Robot, what time is it?', 'what-time-is-it'],
  ['Robot, be quiet.', 'be-quiet'],
  ['Robot, look left.', 'pose:look_left'],
  ['Robot, nod.', 'pose:nod'],
];

/** Ordinary talk, much of it close to a command: none of it is one. */
export const TALK_SENTENCES = [
  'What time does the shop open?',
  'Be careful with that glass.',
  'I had a long day at work.',
  'Can you pass me the salt?',
  'The weather is nice today.',
  'Did you see the game last night?',
  'I need to sleep on it.',
  'Wake me up at seven tomorrow.',
  'You look happy today.',
  'Let us speak about it again later.',
  'It is time to go home.',
  'Look at that dog over there.',
  'Wait a moment, please.',
  'Wait up.',
  'Sleep tight.',
];

/**
 * Each sentence with half a second of the room on either side, as the voice detector cuts it out;
 * and over babble also with 4 s either side, in one long utterance, since the detector hears the
 * room's talk as speech and does not end the utterance.
 */
const CONDITIONS: { name: string; noise: { kind: Noise; snrDb: number }; roomS?: number; goesOn?: boolean; unsuppressed?: boolean }[] = [
  { name: 'quiet room', noise: QUIET_ROOM },
  { name: 'pink noise, 10 dB SNR', noise: { kind: 'pink', snrDb: 10 } },
  { name: 'music (plucked chords), 10 dB SNR', noise: { kind: 'chords', snrDb: 10 } },
  // The same without voice.listen.command_noise_suppression: what RNNoise adds.
  { name: 'music (plucked chords), 10 dB SNR, without noise suppression', noise: { kind: 'chords', snrDb: 10 }, unsuppressed: true },
  { name: 'babble, 10 dB SNR', noise: { kind: 'babble', snrDb: 10 } },
  { name: 'babble, 10 dB SNR, within 8 s of it', noise: { kind: 'babble', snrDb: 10 }, roomS: 4 },
  // The utterance still going on when the command has been said: it is looked at as it grows.
  { name: 'babble, 10 dB SNR, 6 s of it either side, heard as it goes on', noise: { kind: 'babble', snrDb: 10 }, roomS: 6, goesOn: true },
];

/**
 * A long utterance through the recogniser as the command stage feeds it while the utterance goes
 * on: its audio so far every SPOT_EVERY_MS, then the whole of it when it ends. `atMs`: how much of
 * the audio had been heard when the command was; `decodeMs`: how long that last look took.
 */
export async function heardAsItGoesOn(recognizer: CommandRecognizer, pcm: Buffer): Promise<{ command?: string; atMs: number; decodeMs: number }> {
  const step = (SPOT_EVERY_MS * SAMPLE_RATE * 2) / 1000;
  const decoded: DecodedPiece[] = [];
  for (let end = step; end < pcm.length; end += step) {
    const started = performance.now();
    const heard = await recognizer.spot(pcm.subarray(0, end), decoded);
    if (heard?.command) return { command: heard.command.name, atMs: msOf(end), decodeMs: performance.now() - started };
  }
  const started = performance.now();
  const heard = await recognizer.recognise(pcm, decoded);
  return { command: heard.command?.name, atMs: msOf(pcm.length), decodeMs: performance.now() - started };
}

const SAMPLE_RATE = 16_000;
const msOf = (bytes: number) => (bytes / 2 / SAMPLE_RATE) * 1000;

export interface CommandsBench {
  voices: string[];
  /** Noise suppression before the decoder (voice.listen.command_noise_suppression: held notes out, then RNNoise with its resampling): CPU ms per second of audio, one core. */
  noiseSuppressionMsPerSecond: number;
  conditions: {
    name: string;
    /** Commands recognised as what they are, of all said. */
    recognised: number;
    commands: number;
    /** Commands recognised as another command (the worst error: the robot does the wrong thing). */
    takenForAnother: number;
    /** Ordinary sentences taken for a command, of all said. */
    talkTakenForCommand: number;
    talk: number;
    /** A real voice's phrases (none of them a command: "front left", "rear right" and the like) taken for a command, of all; absent where the recordings are not installed. */
    realVoiceTakenForCommand?: number;
    realVoice?: number;
    /** Heard as it goes on: of the commands recognised, those recognised before the utterance ended. */
    recognisedBeforeTheEnd?: number;
  }[];
  /** An utterance as the detector cuts it out of a room through the recogniser: one pocketsphinx process, its start included (one core). */
  decodeMs: Percentiles;
  /** A long utterance over babble through the recogniser: one pocketsphinx process per piece standing out of it (up to three). */
  longUtteranceMs: Percentiles;
  /** From the end of speech to the command: the detector's end_silence_ms, then the decode. */
  endOfSpeechToCommandMs: Percentiles;
  /** Heard as it goes on: from the end of the command's words to the command, the room talking on (audio waited for, then the decode). */
  commandSaidToCommandMs: Percentiles;
}

/**
 * The command recogniser on the four benchmark voices of espeak-ng, each saying the commands and
 * the ordinary sentences above, and a real voice's phrases that are not commands (realVoice), in a
 * quiet room and at 10 dB SNR in pink noise and in babble (there also inside a long utterance).
 */
export async function benchCommands(voiceCount = VOICES.length): Promise<CommandsBench> {
  const voices = VOICES.slice(0, voiceCount);
  const real = await realVoice();
  const defaults = configSchema.parse({});
  const poses = Object.keys(defaults.expression.poses);
  const suppressor = await NoiseSuppressor.load();
  const suppressed = CommandRecognizer.create(poses, suppressor);
  const unsuppressed = CommandRecognizer.create(poses);
  const decodes: number[] = [];
  const longDecodes: number[] = [];
  try {
    const conditions: CommandsBench['conditions'] = [];
    const saidToCommand: number[] = [];
    for (const { name, noise, roomS, goesOn, unsuppressed: raw } of CONDITIONS) {
      const recognizer = raw ? unsuppressed : suppressed;
      const timed = async (pcm: Buffer, long: boolean) => {
        const started = performance.now();
        const result = await recognizer.recognise(pcm);
        // The figures are the default path's: with noise suppression.
        if (!raw) (long ? longDecodes : decodes).push(performance.now() - started);
        return result.command?.name;
      };
      const row: CommandsBench['conditions'][number] = { name, recognised: 0, commands: 0, takenForAnother: 0, talkTakenForCommand: 0, talk: 0, ...(goesOn ? { recognisedBeforeTheEnd: 0 } : {}) };
      const long = roomS !== undefined;
      const hear = async (pcm: Buffer) => {
        if (!goesOn) return { command: await timed(pcm, long), beforeTheEnd: false };
        const heard = await heardAsItGoesOn(recognizer, pcm);
        const saidMs = msOf(pcm.length) - roomS! * 1000;
        return { command: heard.command, beforeTheEnd: heard.atMs < msOf(pcm.length), toCommandMs: heard.atMs - saidMs + heard.decodeMs };
      };
      for (const voice of voices) {
        for (const [text, command] of COMMAND_SENTENCES) {
          const got = await hear(await spokenInNoise(text, voice, noise, roomS));
          row.commands++;
          if (got.command === command) {
            row.recognised++;
            if (got.beforeTheEnd) row.recognisedBeforeTheEnd!++;
            if (got.toCommandMs !== undefined) saidToCommand.push(got.toCommandMs);
          } else if (got.command) row.takenForAnother++;
        }
        for (const text of TALK_SENTENCES) {
          row.talk++;
          if ((await hear(await spokenInNoise(text, voice, noise, roomS))).command) row.talkTakenForCommand++;
        }
      }
      if (real) {
        row.realVoice = 0;
        row.realVoiceTakenForCommand = 0;
        for (const { speech } of real) {
          row.realVoice++;
          // Not timed: the decode times stay those of the sentences above, comparable across runs.
          const pcm = await inNoise(speech, noise, roomS);
          const heard = goesOn ? (await heardAsItGoesOn(recognizer, pcm)).command : (await recognizer.recognise(pcm)).command;
          if (heard) row.realVoiceTakenForCommand++;
        }
      }
      conditions.push(row);
    }
    const hangover = defaults.voice.listen.end_silence_ms;
    return {
      noiseSuppressionMsPerSecond: await suppressionCost(suppressor),
      voices: voices.map((v) => v.voice),
      conditions,
      decodeMs: percentiles(decodes),
      longUtteranceMs: percentiles(longDecodes),
      endOfSpeechToCommandMs: percentiles(decodes.map((ms) => ms + hangover)),
      commandSaidToCommandMs: percentiles(saidToCommand),
    };
  } finally {
    suppressed.release();
    unsuppressed.release();
  }
}

/** Noise suppression's cost (held notes, then RNNoise and its resampling): CPU ms per second of 16 kHz audio, over a 10 s utterance in music. */
async function suppressionCost(suppressor: NoiseSuppressor): Promise<number> {
  const pcm = await inNoise(new Int16Array(10 * SAMPLE_RATE).map((_, i) => 3000 * Math.sin(i / 5)), { kind: 'chords', snrDb: 10 }, 0);
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
  suppressor.denoise(samples.subarray(0, SAMPLE_RATE)); // compiled by the first call
  const started = process.cpuUsage();
  suppressor.denoise(samples);
  const { user, system } = process.cpuUsage(started);
  return (user + system) / 1000 / (samples.length / SAMPLE_RATE);
}
