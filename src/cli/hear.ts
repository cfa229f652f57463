import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { asError } from '../runtime/errors.js';
import pino from 'pino';
import { CommandRecognizer, SPOT_EVERY_MS } from '../voice/commands.js';
import { Pipeline } from '../voice/frames.js';
import { CommandStage, DetectorStage, type ListeningStage } from '../voice/listening.js';
import { createSpeechDetector, VoiceActivityDetector } from '../voice/vad.js';
import { filesFrom } from './look.js';

export interface HearOptions {
  inputs: string[];
  json: boolean;
  listen: Config['voice']['listen'];
  /** The configured poses, which are spoken commands too. */
  poses: string[];
}

/** What the microphone records, and so what the detector is tuned for. */
const SAMPLE_RATE = 16_000;
/** Audio is fed as the microphone delivers it: in chunks of this many ms. */
const CHUNK_MS = 100;

export class WavError extends Error {}

/** 16-bit PCM samples of a WAV file, mono (channels averaged), with its sample rate. */
export function readWav(file: string): { pcm: Buffer; sampleRate: number } {
  const data = readFileSync(file);
  if (data.length < 12 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') throw new WavError(`${file}: not a WAV file`);
  let format: { channels: number; sampleRate: number; bits: number; encoding: number } | undefined;
  for (let at = 12; at + 8 <= data.length; ) {
    const id = data.toString('ascii', at, at + 4);
    const size = data.readUInt32LE(at + 4);
    const body = data.subarray(at + 8, Math.min(data.length, at + 8 + size));
    if (id === 'fmt ' && body.length >= 16) format = { encoding: body.readUInt16LE(0), channels: body.readUInt16LE(2), sampleRate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    if (id === 'data') {
      if (!format) throw new WavError(`${file}: no format chunk before the audio`);
      if (format.encoding !== 1 || format.bits !== 16 || format.channels < 1) throw new WavError(`${file}: not 16-bit PCM (convert it: sox in.wav -b 16 -c 1 -r 16000 out.wav)`);
      const frames = Math.floor(body.length / (2 * format.channels));
      const pcm = Buffer.alloc(frames * 2);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < format.channels; c++) sum += body.readInt16LE((i * format.channels + c) * 2);
        pcm.writeInt16LE(Math.round(sum / format.channels), i * 2);
      }
      return { pcm, sampleRate: format.sampleRate };
    }
    at += 8 + size + (size % 2);
  }
  throw new WavError(`${file}: no audio in it`);
}

export interface HeardUtterance {
  file: string;
  startMs: number;
  endMs: number;
  /**
   * The spoken command it is (`sleep`, `pose:nod`) and its words as recognised; both null for
   * anything else, which the robot does not recognise on the device (it goes to speech-to-text).
   */
  text: string | null;
  command: string | null;
}

/**
 * The real listening path's stages over one recording, as the microphone would feed it: its speech
 * detector and segmenter, and its command recogniser (when given one), which also spots a command
 * while a long utterance goes on, as on the robot. The awake and attention gates are left out.
 */
export async function utterancesIn(file: string, listen: Config['voice']['listen'], commands?: CommandRecognizer): Promise<HeardUtterance[]> {
  const { pcm, sampleRate } = readWav(file);
  if (sampleRate !== SAMPLE_RATE) throw new WavError(`${file}: ${sampleRate} Hz; the robot listens at ${SAMPLE_RATE} Hz (convert it: sox in.wav -r ${SAMPLE_RATE} out.wav)`);
  const detector = await createSpeechDetector(listen, SAMPLE_RATE);
  let failure: unknown;
  const fail = (err: unknown) => (failure ??= err);
  const vadSettings = { ...listen, sampleRate: SAMPLE_RATE, progress_ms: commands ? SPOT_EVERY_MS : undefined };
  const vad = new VoiceActivityDetector(vadSettings, detector, (err) => fail(new Error(`the ${detector.name} speech detector failed: ${asError(err).message}`)));
  const heard: HeardUtterance[] = [];
  const collector: ListeningStage = {
    name: 'hear',
    down: (frame) => {
      if (frame.type === 'utterance') heard.push({ file, startMs: frame.startMs, endMs: frame.endMs, text: null, command: null });
      if (frame.type === 'command') heard.push({ file, startMs: frame.startMs, endMs: frame.endMs, text: frame.text, command: frame.command.name });
    },
  };
  // What the robot would log as a warning (the recogniser failed) fails the recording here.
  const warnings = pino({ level: 'warn' }, { write: (line: string) => fail(new Error((JSON.parse(line) as { msg: string }).msg)) });
  const spotter = commands && new CommandStage(commands, warnings);
  const stages = [new DetectorStage(vad, detector, 1), ...(spotter ? [spotter] : []), collector];
  // Not stopped: stopping would release the recogniser, which the next recording still needs.
  const pipeline = new Pipeline(stages, (stage, err) => fail(new Error(`${stage}: ${asError(err).message}`)));
  try {
    const chunk = (SAMPLE_RATE * CHUNK_MS * 2) / 1000;
    for (let at = 0; at < pcm.length; at += chunk) {
      pipeline.push({ type: 'audio', pcm: pcm.subarray(at, at + chunk), capturedAt: 0 });
      // A recording goes in far faster than a microphone speaks, so each chunk waits for the looks at
      // the audio so far: on the robot a look (about 0.2 s) is done long before the next one is due.
      await pipeline.idle();
      await spotter?.settled();
    }
    // Silence after the recording, so that speech running to its very end still ends as an utterance.
    pipeline.push({ type: 'audio', pcm: Buffer.alloc(((listen.end_silence_ms + CHUNK_MS) * SAMPLE_RATE * 2) / 1000), capturedAt: 0 });
    await pipeline.idle();
  } finally {
    await detector.release();
  }
  if (failure) throw new Error(`${file}: ${asError(failure).message}`);
  return heard;
}

/** `emobot hear <wav|folder>... [--json]`: every utterance the robot would hear in each recording. */
export async function hearCommand(options: HearOptions): Promise<number> {
  let files: string[];
  try {
    files = filesFrom(options.inputs, /\.wav$/i);
  } catch (err) {
    process.stderr.write(`emobot hear: ${asError(err).message}\n`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write(`emobot hear: no .wav recordings in ${options.inputs.join(', ')}\n`);
    return 2;
  }
  let commands: CommandRecognizer | undefined;
  if (options.listen.commands) {
    try {
      commands = await CommandRecognizer.load(options.poses, options.listen.command_noise_suppression, (message) => process.stderr.write(`emobot hear: ${message}\n`));
    } catch (err) {
      process.stderr.write(`emobot hear: no spoken commands: ${asError(err).message}\n`);
    }
  } else process.stderr.write('emobot hear: spoken commands are off (voice.listen.commands)\n');
  try {
    return await hearFiles(files, options, commands);
  } finally {
    commands?.release();
  }
}

async function hearFiles(files: string[], options: HearOptions, commands: CommandRecognizer | undefined): Promise<number> {
  let failed = 0;
  for (const file of files) {
    let utterances: HeardUtterance[];
    try {
      utterances = await utterancesIn(file, options.listen, commands);
    } catch (err) {
      failed++;
      process.stderr.write(`emobot hear: ${asError(err).message}\n`);
      continue;
    }
    if (options.json) for (const u of utterances) process.stdout.write(`${JSON.stringify(u)}\n`);
    else {
      const seconds = (ms: number) => (ms / 1000).toFixed(2);
      process.stdout.write(`${file}: ${utterances.length} utterance${utterances.length === 1 ? '' : 's'} (${options.listen.detector} detector)\n`);
      for (const u of utterances) process.stdout.write(`  ${seconds(u.startMs)}-${seconds(u.endMs)} s  ${u.command ? `command ${u.command} ("${u.text}")` : 'speech'}\n`);
    }
  }
  return failed ? 1 : 0;
}
