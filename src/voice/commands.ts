import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RobotMode } from '../runtime/events.js';

const run = promisify(execFile);

/** Debian's pocketsphinx and pocketsphinx-en-us (scripts/setup.sh installs them). */
export const POCKETSPHINX = {
  decoder: '/usr/bin/pocketsphinx_batch',
  acousticModel: '/usr/share/pocketsphinx/model/en-us/en-us',
  dictionary: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict',
};

/** What a spoken command does: the same requests MQTT's commands make, or a question the robot answers. */
export type CommandAction =
  | { kind: 'control'; mode?: RobotMode; muted?: boolean }
  | { kind: 'pose'; pose: string }
  | { kind: 'tell'; what: 'how-i-look' | 'time' };

export interface SpokenCommand {
  /** As the logs, the bus and `emobot hear` name it: `sleep`, `wake-up`, `pose:nod`. */
  readonly name: string;
  /** What the person says, after an optional "robot" and "please". */
  readonly phrases: string[];
  readonly action: CommandAction;
}

/** Always there; the configured poses are added to them. */
const FIXED_COMMANDS: SpokenCommand[] = [
  { name: 'sleep', phrases: ['sleep', 'go to sleep'], action: { kind: 'control', mode: 'sleep' } },
  { name: 'wake-up', phrases: ['wake up'], action: { kind: 'control', mode: 'active' } },
  { name: 'be-quiet', phrases: ['be quiet'], action: { kind: 'control', muted: true } },
  { name: 'speak-again', phrases: ['speak again'], action: { kind: 'control', muted: false } },
  { name: 'how-do-i-look', phrases: ['how do i look'], action: { kind: 'tell', what: 'how-i-look' } },
  { name: 'what-time-is-it', phrases: ['what time is it'], action: { kind: 'tell', what: 'time' } },
];

/** Said around a command, and not part of it. */
const POLITE = ['robot', 'please'];

/**
 * Poses the robot takes by itself (on stop, while asleep), not on request; and what a pose name
 * becomes as words ("look_left": "look left").
 */
const MODE_POSES = new Set(['rest', 'sleep']);
const wordsOf = (pose: string) => pose.split(/[-_]+/).filter(Boolean).join(' ');

/** The English phones of the acoustic model: the garbage loop, which takes whatever is not a command. */
const PHONES = 'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ');
const GARBAGE_PREFIX = 'garbage_';
/**
 * The decoder's word insertion penalty. Measured on espeak-ng speech (3 voices, 10 commands, 16
 * ordinary sentences, quiet and at 10 dB SNR in pink noise): from 3e-5 to 1e-2 it makes little
 * difference, which is why one value serves; see the README's spoken commands section.
 */
const WORD_INSERTION_PENALTY = '1e-3';
/**
 * The decoder can also explain speech as silence: "wait a moment please" came out as a long
 * silence, then "sleep". So the loud part of an utterance (its frames within LOUD_DB of its loudest)
 * must be the command's words: at most this much of it may lie where the decoder put silence. In
 * the benchmark's sentences this rejected every such case (2 of 48 ordinary sentences in pink noise)
 * and no command.
 */
const MAX_SPEECH_AS_SILENCE_MS = 300;
const LOUD_DB = 12;
/** The decoder's frames: 10 ms. */
const FRAME_MS = 10;

export interface Recognised {
  /** What the decoder heard as command words, for the logs and `emobot hear`; empty when it heard none. */
  text: string;
  /** The command, when the whole utterance is one (anything else spoken with it, and it is not). */
  command?: SpokenCommand;
}

/**
 * Spoken commands offline: Debian's pocketsphinx decodes each utterance against a grammar of the
 * commands, in which any other speech has a way out, a loop of single phones. The grammar alone
 * would force every sentence onto the nearest command ("what time does the shop open" heard as
 * "what time is it"); with the loop, ordinary talk comes out as phones and is not a command. The
 * decoder runs once per utterance, on the robot, and nothing of what was said leaves it.
 */
export class CommandRecognizer {
  private constructor(
    readonly commands: SpokenCommand[],
    /** Poses that cannot be said: a word the pronunciation dictionary does not have. */
    readonly unspeakable: { pose: string; word: string }[],
    private readonly folder: string,
  ) {}

  /** Throws when pocketsphinx is not installed; `poses` are the configured pose names. */
  static create(poses: string[]): CommandRecognizer {
    for (const file of Object.values(POCKETSPHINX)) {
      if (!existsSync(file)) throw new Error(`${file} is missing: offline spoken commands need Debian's pocketsphinx and pocketsphinx-en-us (bash scripts/setup.sh installs them)`);
    }
    const pronunciations = pronunciationsOf(readFileSync(POCKETSPHINX.dictionary, 'utf8'));
    const commands = [...FIXED_COMMANDS];
    const unspeakable: { pose: string; word: string }[] = [];
    for (const pose of poses) {
      if (MODE_POSES.has(pose)) continue;
      const phrase = wordsOf(pose);
      const missing = phrase.split(' ').find((word) => !pronunciations.has(word));
      if (missing) unspeakable.push({ pose, word: missing });
      else commands.push({ name: `pose:${pose}`, phrases: [phrase], action: { kind: 'pose', pose } });
    }
    const folder = mkdtempSync(path.join(os.tmpdir(), 'emobot-commands-'));
    const words = new Set([...POLITE, ...commands.flatMap((c) => c.phrases.flatMap((p) => p.split(' ')))]);
    const dictionary = [...words].sort().flatMap((word) => pronunciations.get(word)!.map((phones, i) => `${i ? `${word}(${i + 1})` : word} ${phones}`));
    dictionary.push(...PHONES.map((phone) => `${GARBAGE_PREFIX}${phone.toLowerCase()} ${phone}`));
    writeFileSync(path.join(folder, 'commands.dict'), dictionary.join('\n') + '\n');
    writeFileSync(path.join(folder, 'commands.gram'), grammarOf(commands));
    return new CommandRecognizer(commands, unspeakable, folder);
  }

  /** 16-bit mono PCM at 16 kHz (the microphone's) to the command it is, if it is one. */
  async recognise(pcm: Buffer, signal?: AbortSignal): Promise<Recognised> {
    const id = `u${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const audio = path.join(this.folder, `${id}.raw`);
    const control = path.join(this.folder, `${id}.ctl`);
    const hypothesis = path.join(this.folder, `${id}.hyp`);
    const segments = path.join(this.folder, `${id}.seg`);
    try {
      writeFileSync(audio, pcm);
      writeFileSync(control, `${id}\n`);
      // pocketsphinx_batch rather than _continuous: it decodes the whole utterance as one, where
      // _continuous would cut it at its own pauses and judge the pieces alone.
      await run(
        POCKETSPHINX.decoder,
        ['-hmm', POCKETSPHINX.acousticModel, '-dict', path.join(this.folder, 'commands.dict'), '-jsgf', path.join(this.folder, 'commands.gram'),
          '-wip', WORD_INSERTION_PENALTY, '-dither', 'yes', '-seed', '1', '-samprate', '16000', '-adcin', 'yes', '-adchdr', '0', '-cepdir', this.folder, '-cepext', '.raw',
          '-ctl', control, '-hyp', hypothesis, '-hypseg', segments, '-logfn', '/dev/null'],
        { timeout: 10_000, ...(signal ? { signal } : {}) },
      );
      const recognised = this.interpret(readFileSync(hypothesis, 'utf8'));
      if (recognised.command && speechAsSilenceMs(pcm, readFileSync(segments, 'utf8')) > MAX_SPEECH_AS_SILENCE_MS) return { text: recognised.text };
      return recognised;
    } finally {
      for (const file of [audio, control, hypothesis, segments]) rmSync(file, { force: true });
    }
  }

  /** Lets go of the grammar files. */
  release(): void {
    rmSync(this.folder, { recursive: true, force: true });
  }

  private interpret(hypothesis: string): Recognised {
    // "<words> (<id> <score>)"; alternative pronunciations come back as word(2).
    const words = hypothesis.replace(/\s*\([^()]*\)\s*$/, '').split(/\s+/).filter(Boolean).map((word) => word.replace(/\(\d+\)$/, ''));
    const heard = words.filter((word) => !word.startsWith(GARBAGE_PREFIX));
    const text = heard.join(' ');
    // The decoder lets the phone loop run into a command ("<phones> what time is it"): a sentence
    // that merely ends like a command. Any phone in the result means the person said something else.
    if (heard.length !== words.length) return { text };
    let first = 0;
    let last = heard.length;
    while (first < last && POLITE.includes(heard[first]!)) first++;
    while (last > first && heard[last - 1] === 'please') last--;
    const said = heard.slice(first, last).join(' ');
    const command = this.commands.find((c) => c.phrases.includes(said));
    return command ? { text, command } : { text };
  }
}

/**
 * How much of the utterance's loud part the decoder put in silence or noise: from its segmentation
 * ("<id> S <n> T <score> A <score> L <score>", then "<start frame> <ascr> <lscr> <word>" per
 * segment, then the last frame).
 */
function speechAsSilenceMs(pcm: Buffer, segmentation: string): number {
  const fields = segmentation.trim().split(/\s+/).slice(9);
  const samplesPerFrame = (16_000 * FRAME_MS) / 1000;
  const frames = Math.floor(pcm.length / 2 / samplesPerFrame);
  const energy = Array.from({ length: frames }, (_, f) => {
    let sum = 0;
    for (let i = f * samplesPerFrame; i < (f + 1) * samplesPerFrame; i++) sum += pcm.readInt16LE(i * 2) ** 2;
    return 10 * Math.log10(sum / samplesPerFrame + 1);
  });
  const loudest = [...energy].sort((a, b) => b - a)[Math.floor(frames * 0.05)] ?? 0;
  let silentSpeech = 0;
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const word = fields[i + 3]!;
    if (!word.startsWith('<') && !word.startsWith('+') && word !== '(NULL)') continue;
    const end = Number(fields[i + 4]) - (i + 4 < fields.length - 1 ? 1 : 0);
    for (let f = Math.max(0, Number(fields[i])); f <= Math.min(end, frames - 1); f++) if (energy[f]! > loudest - LOUD_DB) silentSpeech++;
  }
  return silentSpeech * FRAME_MS;
}

/** word -> its pronunciations, from a CMU-style dictionary ("word(2)" lines are alternatives). */
function pronunciationsOf(dictionary: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of dictionary.split('\n')) {
    const match = /^([a-z']+)(?:\(\d+\))?\s+(.+)$/.exec(line.trim());
    if (!match) continue;
    const list = found.get(match[1]!) ?? [];
    list.push(match[2]!.trim());
    found.set(match[1]!, list);
  }
  return found;
}

function grammarOf(commands: SpokenCommand[]): string {
  const phrases = commands.flatMap((c) => c.phrases);
  const phones = PHONES.map((phone) => `${GARBAGE_PREFIX}${phone.toLowerCase()}`).join(' | ');
  return [
    '#JSGF V1.0;',
    'grammar commands;',
    'public <utterance> = <command> | <other>+;',
    `<command> = [robot] [please] (${phrases.join(' | ')}) [please];`,
    `<other> = ${phones};`,
    '',
  ].join('\n');
}
