import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BusEvents } from '../runtime/events.js';
import { asError } from '../runtime/errors.js';
import { NoiseSuppressor } from './denoise.js';
import { rms } from './vad.js';

const run = promisify(execFile);

/** Debian's pocketsphinx and pocketsphinx-en-us (scripts/setup.sh installs them). */
const POCKETSPHINX = {
  decoder: '/usr/bin/pocketsphinx_batch',
  acousticModel: '/usr/share/pocketsphinx/model/en-us/en-us',
  dictionary: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict',
};

/** What a spoken command does: the same requests MQTT's commands make, or a question the robot answers. */
export type CommandAction =
  | { kind: 'control'; request: Omit<BusEvents['robot.control'], 'by'> }
  | { kind: 'pose'; pose: string }
  | { kind: 'tell'; what: 'how-i-look' | 'time' };

export interface SpokenCommand {
  /** As the logs and `emobot hear` name it: `sleep`, `wake-up`, `pose:nod`. */
  readonly name: string;
  /** What the person says, with "please" around it if they like. */
  readonly phrases: string[];
  /**
   * Said to the robot by name ("robot, wake up"): everything that changes what the robot does.
   * Everyday talk holds such phrases ("wait up", "sleep tight"); only the two questions do without.
   */
  readonly byName: boolean;
  readonly action: CommandAction;
}

/** Always there; the configured poses are added to them. */
const FIXED_COMMANDS: SpokenCommand[] = [
  { name: 'sleep', phrases: ['sleep', 'go to sleep'], byName: true, action: { kind: 'control', request: { mode: 'sleep' } } },
  { name: 'wake-up', phrases: ['wake up'], byName: true, action: { kind: 'control', request: { mode: 'active' } } },
  { name: 'be-quiet', phrases: ['be quiet'], byName: true, action: { kind: 'control', request: { muted: true } } },
  { name: 'speak-again', phrases: ['speak again'], byName: true, action: { kind: 'control', request: { muted: false } } },
  { name: 'how-do-i-look', phrases: ['how do i look'], byName: false, action: { kind: 'tell', what: 'how-i-look' } },
  { name: 'what-time-is-it', phrases: ['what time is it'], byName: false, action: { kind: 'tell', what: 'time' } },
];

/** What the robot is called, and the word said around a command without being part of it. */
const NAME = 'robot';
const POLITE = 'please';
/**
 * Commands are a few words: a longer utterance is talk, and is not decoded whole (it would only
 * delay its answer); only a piece of it standing out of the room's talk is (see standingOut).
 */
const MAX_COMMAND_MS = 4000;
/**
 * How often an utterance still going on is looked at for a command that has ended in it (`spot`):
 * one said over talk that never pauses then acts within this of the time its piece is known to be
 * over (about 1.6 s after its last word, see standingOut), plus a decode.
 */
export const SPOT_EVERY_MS = 500;
/** The microphone's: 16-bit mono PCM. */
const SAMPLE_RATE = 16_000;

/**
 * Poses the robot takes by itself (on stop, while asleep), not on request; and what a pose name
 * becomes as words ("look_left": "look left").
 */
const MODE_POSES = new Set(['rest', 'sleep']);
const wordsIn = (phrases: string[]) => phrases.flatMap((phrase) => phrase.split(' '));
const wordsOf = (pose: string) => pose.split(/[-_]+/).filter((word) => word && word !== NAME && word !== POLITE).join(' ');

/** The English phones of the acoustic model: the garbage loop, which takes whatever is not a command. */
const PHONES = 'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ');
const GARBAGE_PREFIX = 'garbage_';
const garbageWord = (phone: string) => `${GARBAGE_PREFIX}${phone.toLowerCase()}`;
/**
 * The decoder's word insertion penalty. In a probe on espeak-ng speech (3 voices, 10 commands, 16
 * ordinary sentences, quiet and at 10 dB SNR in pink noise), anything from 3e-5 to 1e-2 made little
 * difference, which is why one value serves.
 */
const WORD_INSERTION_PENALTY = '1e-3';
/**
 * Wider search beams than the decoder's defaults (1e-48, 7e-29, 1e-48). With those, "robot, be quiet"
 * came out as "speak again", the opposite command, for two of four espeak-ng voices in a quiet room,
 * and the right words scored better when the search kept them: the default beams pruned them. Over
 * 16 commands and 27 ordinary sentences in four voices (quiet, pink noise and babble at 10 dB SNR):
 * commands taken for another 3 -> 1, sentences taken for a command 15 -> 9, commands recognised in
 * pink noise 54 -> 51 of 64; a decode takes about 1.7 times as long.
 */
const SEARCH_BEAMS = ['-beam', '1e-80', '-wbeam', '1e-60', '-pbeam', '1e-80'];

/** A piece of an utterance: samples [from, to) of its PCM. */
export type Span = [from: number, to: number];
/** A piece decoded while its utterance went on, and what it was heard as. */
export interface DecodedPiece {
  span: Span;
  heard: Recognised;
}

export interface Recognised {
  /** What the decoder heard the person say as command words (not the room around them), for the logs and `emobot hear`; empty when it heard none. */
  text: string;
  /** The command, when the whole utterance is one (anything else spoken with it, and it is not). */
  command?: SpokenCommand;
}

/**
 * Spoken commands offline: Debian's pocketsphinx decodes each utterance against a grammar of the
 * commands, in which any other speech has a way out, a loop of single phones. The grammar alone
 * would force every sentence onto the nearest command ("what time does the shop open" heard as
 * "what time is it"); with the loop, ordinary talk comes out as phones and is not a command. The
 * decoder runs on the robot, and nothing of what was said leaves it.
 */
export class CommandRecognizer {
  private constructor(
    readonly commands: SpokenCommand[],
    /** Poses that cannot be said, and why (a word the pronunciation dictionary lacks, a phrase taken). */
    readonly unspeakable: { pose: string; why: string }[],
    private readonly folder: string,
    /** Takes the room's noise out of what the decoder hears (`voice.listen.command_noise_suppression`). */
    private readonly suppressor?: NoiseSuppressor,
  ) {}

  /**
   * `create`, with the room's noise taken out of what the decoder hears when `suppressNoise`
   * (`voice.listen.command_noise_suppression`); an RNNoise that does not load is warned of, and the
   * commands go on without it.
   */
  static async load(poses: string[], suppressNoise: boolean, warn: (message: string) => void): Promise<CommandRecognizer> {
    const suppressor = suppressNoise
      ? await NoiseSuppressor.load().catch((err: unknown) => {
          warn(`spoken commands without noise suppression (RNNoise did not load: ${asError(err).message})`);
          return undefined;
        })
      : undefined;
    return CommandRecognizer.create(poses, suppressor);
  }

  /** Throws when pocketsphinx is not installed; `poses` are the configured pose names. */
  static create(poses: string[], suppressor?: NoiseSuppressor): CommandRecognizer {
    for (const file of Object.values(POCKETSPHINX)) {
      if (!existsSync(file)) throw new Error(`${file} is missing: offline spoken commands need Debian's pocketsphinx and pocketsphinx-en-us (bash scripts/setup.sh installs them)`);
    }
    const posePhrases = poses.filter((pose) => !MODE_POSES.has(pose)).map(wordsOf);
    const wanted = new Set([NAME, POLITE, ...wordsIn([...FIXED_COMMANDS.flatMap((c) => c.phrases), ...posePhrases])]);
    const pronunciations = pronunciationsOf(readFileSync(POCKETSPHINX.dictionary, 'utf8'), wanted);
    const commands = [...FIXED_COMMANDS];
    const unspeakable: { pose: string; why: string }[] = [];
    for (const pose of poses) {
      if (MODE_POSES.has(pose)) continue;
      const phrase = wordsOf(pose);
      const missing = phrase.split(' ').find((word) => !pronunciations.has(word));
      const taken = commands.find((c) => c.phrases.includes(phrase));
      if (!phrase) unspeakable.push({ pose, why: 'its name has no words besides "robot" and "please"' });
      else if (missing) unspeakable.push({ pose, why: `"${missing}" is not in the pronunciation dictionary` });
      else if (taken) unspeakable.push({ pose, why: `"${phrase}" is already the ${taken.name} command` });
      else commands.push({ name: `pose:${pose}`, phrases: [phrase], byName: true, action: { kind: 'pose', pose } });
    }
    // In memory where the system has it: each utterance's audio passes through here.
    const parent = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    sweepAbandonedFolders(parent);
    const folder = mkdtempSync(path.join(parent, `${FOLDER_PREFIX}${process.pid}.${HOST}-`));
    try {
      const words = new Set([NAME, POLITE, ...wordsIn(commands.flatMap((c) => c.phrases))]);
      const dictionary = [...words].sort().flatMap((word) => pronunciations.get(word)!.map((phones, i) => `${i ? `${word}(${i + 1})` : word} ${phones}`));
      dictionary.push(...PHONES.map((phone) => `${garbageWord(phone)} ${phone}`));
      writeFileSync(path.join(folder, 'commands.dict'), dictionary.join('\n') + '\n');
      writeFileSync(path.join(folder, 'commands.gram'), grammarOf(commands));
    } catch (err) {
      rmSync(folder, { recursive: true, force: true });
      throw err;
    }
    return new CommandRecognizer(commands, unspeakable, folder, suppressor);
  }

  /**
   * 16-bit mono PCM at 16 kHz (the microphone's) to the command it is, if it is one. `earlier`: the
   * pieces of it that `spot` decoded while it went on; a piece the same as one of those (give or take
   * a window's hop at either end) is not decoded again, and what it was heard as stands. In a long
   * utterance the first piece whose command `accept` takes is the answer (asleep, a "sleep" heard
   * before "wake up" must not hide it).
   */
  async recognise(pcm: Buffer, earlier: DecodedPiece[] = [], accept: (command: SpokenCommand) => boolean = () => true): Promise<Recognised> {
    if (msOf(pcm.length / 2) <= MAX_COMMAND_MS) return this.decode(pcm);
    // Too long for a command: talk, unless the room talked throughout (the voice detector hears
    // babble as speech and runs everything into one utterance) and a command stands out of it.
    for (const span of standingOut(samplesOf(pcm))) {
      const heard = earlier.find((piece) => same(span, piece.span))?.heard ?? (await this.decode(pieceOf(pcm, span)));
      if (heard.command && accept(heard.command)) return heard;
    }
    return { text: '' };
  }

  /**
   * An utterance still going on, as far as it got (`pcm`): the pieces that stood out of it and have
   * ended, each decoded once and added to `decoded` (those already there are left alone), so that a
   * command said while the room talks on is found before the utterance ends: in babble that never
   * pauses it ends only at `voice.listen.max_utterance_ms`. Returns the first of the new ones that is
   * a command. Over a whole utterance this decodes each piece that stands out at most once (about
   * one per 2 s of the utterance at most, given the margins), where `recognise` alone decodes the
   * loudest MAX_PIECES; a decode that fails adds nothing, so its piece is tried again.
   */
  async spot(pcm: Buffer, decoded: DecodedPiece[]): Promise<Recognised | undefined> {
    if (msOf(pcm.length / 2) <= MAX_COMMAND_MS) return undefined;
    for (const span of standingOut(samplesOf(pcm), { besides: decoded.map((piece) => piece.span), endedOnly: true })) {
      const heard = await this.decode(pieceOf(pcm, span));
      // A piece that grew past one decoded before replaces it: what the smaller one was heard as no longer stands.
      for (let i = decoded.length - 1; i >= 0; i--) if (overlap(decoded[i]!.span, span)) decoded.splice(i, 1);
      decoded.push({ span, heard });
      if (heard.command) return heard;
    }
    return undefined;
  }

  private async decode(utterance: Buffer): Promise<Recognised> {
    // The words are weighed on what the decoder heard: music left under them would count as something else said.
    const pcm = this.suppressor ? bufferOf(this.suppressor.denoise(samplesOf(utterance))) : utterance;
    const id = `u${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const audio = path.join(this.folder, `${id}.raw`);
    const control = path.join(this.folder, `${id}.ctl`);
    const words = path.join(this.folder, `${id}.ctm`);
    try {
      writeFileSync(audio, pcm);
      writeFileSync(control, `${id}\n`);
      // pocketsphinx_batch rather than _continuous: it decodes the whole utterance as one, where
      // _continuous would cut it at its own pauses and judge the pieces alone.
      await run(
        POCKETSPHINX.decoder,
        ['-hmm', POCKETSPHINX.acousticModel, '-dict', path.join(this.folder, 'commands.dict'), '-jsgf', path.join(this.folder, 'commands.gram'),
          // Dither: a little noise on digital silence (some microphones deliver it), on which the
          // decoder's normalisation misjudged speech in a probe; a fixed seed keeps answers repeatable.
          ...SEARCH_BEAMS, '-wip', WORD_INSERTION_PENALTY, '-dither', 'yes', '-seed', '1', '-samprate', String(SAMPLE_RATE), '-adcin', 'yes', '-adchdr', '0', '-cepdir', this.folder, '-cepext', '.raw',
          // CTM: the words with their times, so that each can be weighed by how loud it was said.
          // The decoder's own voice detector stays off: the frames it removes would shift the times.
          '-remove_silence', 'no', '-ctl', control, '-ctm', words, '-logfn', '/dev/null'],
        { timeout: 10_000 },
      );
      return this.interpret(weigh(readFileSync(words, 'utf8'), pcm));
    } finally {
      for (const file of [audio, control, words]) rmSync(file, { force: true });
    }
  }

  /** Lets go of the grammar files. */
  release(): void {
    rmSync(this.folder, { recursive: true, force: true });
  }

  private interpret({ words, somethingElse }: Heard): Recognised {
    const text = words.join(' ');
    // The decoder lets the phone loop run into a command ("<phones> what time is it"): a sentence
    // that merely ends like a command. Anything else said as loud as the command, and it is not one.
    if (somethingElse) return { text };
    const named = words[0] === NAME;
    let first = named ? 1 : 0;
    if (words[first] === POLITE) first++;
    const last = words.length > first && words.at(-1) === POLITE ? words.length - 1 : words.length;
    const said = words.slice(first, last).join(' ');
    // The grammar asks for the name too, but the name may have come from the background, and been
    // left out with it: a "wait up" over babble decoded as "robot" from the room and "wake up".
    const command = this.commands.find((c) => c.phrases.includes(said) && (named || !c.byName));
    return command ? { text, command } : { text };
  }
}

/**
 * How far under the loudest command word the rest of an utterance must be to be the room's, not
 * the person's (dB of power). The person who speaks to the robot is the voice nearest it; other
 * people talking in the room (babble) come out of the decoder as phones around the command, and
 * without this every command said over them was rejected. In `emobot bench` (four espeak-ng voices,
 * 8 commands, 15 ordinary sentences), commands recognised by this margin, in a quiet room / in
 * babble at 10 dB SNR: 4 dB 27 / 19 of 32, 5 dB 32 / 22, 6 dB 32 / 24, 8 dB 31 / 24; none taken for
 * another command and no ordinary sentence in babble taken for one, at any of them.
 */
const FOREGROUND_DB = 6;
/**
 * Loudness outside the command words is judged over windows this long (half overlapping), about a
 * syllable. 100 and 300 ms measured the same in that bench; each stretch averaged whole, two
 * commands in babble were taken for another.
 */
const LOUDNESS_WINDOW_S = 0.2;

const WINDOW = Math.round(LOUDNESS_WINDOW_S * SAMPLE_RATE);
const HOP = Math.round(WINDOW / 2);

/**
 * The same piece, give or take a hop at either end: the room's level, the median of the audio so
 * far, moves as an utterance goes on, and a piece's ends with it, a window at a time.
 */
const same = ([from, to]: Span, [otherFrom, otherTo]: Span) => Math.abs(from - otherFrom) <= HOP && Math.abs(to - otherTo) <= HOP;
const overlap = ([from, to]: Span, [otherFrom, otherTo]: Span) => from < otherTo && otherFrom < to;
const pieceOf = (pcm: Buffer, [from, to]: Span) => pcm.subarray(2 * from, 2 * to);

/** The samples of 16-bit PCM; a buffer at an odd offset (a slice of a larger one) is copied, as Int16Array cannot view it. */
const samplesOf = (pcm: Buffer) =>
  pcm.byteOffset % 2 ? new Int16Array(Uint8Array.from(pcm.subarray(0, pcm.length - (pcm.length % 2))).buffer) : new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
const bufferOf = (samples: Int16Array) => Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
const msOf = (samples: number) => (samples / SAMPLE_RATE) * 1000;

/** The mean power of samples [from, to), in dB. */
const levelDb = (samples: Int16Array, from: number, to: number) => 10 * Math.log10(rms(samples.subarray(from, to)) ** 2 + 1);

/** The levels of the whole windows in [from, to), one every HOP from `from`. */
function windowLevels(samples: Int16Array, from: number, to: number): number[] {
  const levels: number[] = [];
  for (let at = from; at + WINDOW <= to; at += HOP) levels.push(levelDb(samples, at, at + WINDOW));
  return levels;
}

/**
 * Pieces of a long utterance said FOREGROUND_DB over its median (the room's level, which a command
 * is too short a part of to move), with a margin of the room around each, and short enough to be a
 * command: the loudest MAX_PIECES of them, in time order. On four espeak-ng voices a person talking
 * on in a quiet room was their own utterance's median, so nothing stood out of their talk and it
 * stayed undecoded; a real voice varies more, and a piece of it that stands out is decoded and
 * judged as any utterance is. Pieces the same as one of `besides` (give or take a hop) are left out
 * before the loudest are chosen (one that has grown or shrunk past that, as the room's level moved, stays); with `endedOnly` (the
 * utterance goes on), so is a piece that the audio still to come could make longer.
 */
export function standingOut(samples: Int16Array, { besides = [], endedOnly = false }: { besides?: Span[]; endedOnly?: boolean } = {}): Span[] {
  const levels = windowLevels(samples, 0, samples.length);
  const room = [...levels].sort((a, b) => a - b)[Math.floor(levels.length / 2)];
  if (room === undefined) return [];
  const margin = Math.round(STANDING_OUT.marginS * SAMPLE_RATE);
  // Padded first, then joined where they overlap: a pause after the name shorter than two margins keeps the command one piece.
  const pieces: { from: number; to: number; loud: number; peakDb: number }[] = [];
  levels.forEach((db, i) => {
    if (db < room + FOREGROUND_DB) return;
    const [from, to] = [Math.max(0, i * HOP - margin), Math.min(samples.length, i * HOP + WINDOW + margin)];
    const last = pieces.at(-1);
    if (last && from <= last.to) Object.assign(last, { to, loud: last.loud + HOP, peakDb: Math.max(last.peakDb, db) });
    else pieces.push({ from, to, loud: HOP, peakDb: db });
  });
  // A loud window starting within a margin of a piece's end would still join it.
  const ended = (p: { to: number }) => !endedOnly || p.to + margin + WINDOW <= samples.length;
  const known = (p: { from: number; to: number }) => besides.some((span) => same([p.from, p.to], span));
  return pieces
    .filter((p) => p.loud >= STANDING_OUT.shortestS * SAMPLE_RATE && msOf(p.to - p.from) <= MAX_COMMAND_MS && ended(p) && !known(p))
    .sort((x, y) => y.peakDb - x.peakDb)
    .slice(0, MAX_PIECES)
    .sort((x, y) => x.from - y.from)
    .map((p): Span => [p.from, p.to]);
}

/**
 * Under `shortestS` of loud audio a piece is a syllable, not a command; `marginS` of the room on
 * each side lets the decoder settle before the command starts. Commands recognised over babble in
 * 8 s of it, four voices, at 5 / 10 / 15 dB SNR, by the margin: 0.3 s 4 / 19 / 22 of 32 (2 taken
 * for another), 0.5 s 1 / 16 / 22 (1), 0.7 s 2 / 19 / 27 (1); no ordinary sentence was taken for a
 * command in any.
 */
const STANDING_OUT = { shortestS: 0.4, marginS: 0.7 };
/** Each piece is a pocketsphinx run of about 0.2 s, waited for before the utterance goes on. */
const MAX_PIECES = 3;

/** A CTM's duration is from a word's first frame to its last, so one frame (the decoder's 10 ms) short. */
const CTM_FRAME_S = 0.01;

export interface Heard {
  /** The command words in order, but for the name and "please" said under the person's level: the room's. */
  words: string[];
  /** Something else was said at the person's level: phones, a filler, or audio the decoder's words do not cover. */
  somethingElse: boolean;
}

/**
 * Weighs each stretch of the utterance as a CTM gives it (`<utterance> <channel> <start s>
 * <duration s> <word> [<confidence>]` per line) by how loud it was. The stretches no word covers
 * count as something else too: where the search ends in no final state, pocketsphinx returns the
 * best path so far, and a "what time is it" over babble came back as "robot look right" with its
 * last second left out.
 */
export function weigh(ctm: string, pcm: Buffer): Heard {
  const samples = samplesOf(pcm);
  const meanDb = (from: number, to: number) => levelDb(samples, from, to);
  // A command word is as loud as its mean. Anything else is as loud as its loudest part: averaged
  // whole, a second of babble after the last word hid the person's own last words in it.
  const loudestDb = (from: number, to: number) =>
    to - from <= WINDOW ? meanDb(from, to) : Math.max(meanDb(to - WINDOW, to), ...windowLevels(samples, from, to));
  const commandWords: { word: string; levelDb: number }[] = [];
  const elseDb: number[] = [];
  let covered = 0;
  const words = ctm.split('\n').flatMap((line) => {
    const [, , start, duration, word] = line.trim().split(/\s+/);
    const [from, to] = [Number(start), Number(start) + Number(duration) + CTM_FRAME_S].map((s) => Math.min(samples.length, Math.max(0, Math.round(s * SAMPLE_RATE))));
    // A line that is not a word with its times would otherwise pass unweighed: it is left out, and its stretch counts as uncovered.
    return word && Number.isFinite(from) && Number.isFinite(to) ? [{ word, from: from!, to: Math.max(from!, to!) }] : [];
  });
  // The CTM leaves out silence and fillers (<sil>, [NOISE]): those stretches are uncovered, and weighed as such.
  for (const { word, from, to } of words.sort((x, y) => x.from - y.from)) {
    if (from > covered) elseDb.push(loudestDb(covered, from));
    covered = Math.max(covered, to);
    if (word.startsWith(GARBAGE_PREFIX)) elseDb.push(loudestDb(from, to));
    else commandWords.push({ word, levelDb: meanDb(from, to) });
  }
  if (covered < samples.length) elseDb.push(loudestDb(covered, samples.length));
  if (!commandWords.length) return { words: [], somethingElse: true };
  const roomUnderDb = Math.max(...commandWords.map((w) => w.levelDb)) - FOREGROUND_DB;
  // The name and "please" are what the decoder most readily makes of the room's talk around a
  // command: under the person's level they are the room's, and left out. A command's own word
  // under it means the decoder put the room's talk into the command ("look right" of babble).
  const wrapper = (word: string) => word === NAME || word === POLITE;
  const fromTheRoom = commandWords.filter((w) => w.levelDb < roomUnderDb);
  return {
    words: commandWords.filter((w) => !(wrapper(w.word) && w.levelDb < roomUnderDb)).map((w) => w.word),
    somethingElse: fromTheRoom.some((w) => !wrapper(w.word)) || elseDb.some((db) => db >= roomUnderDb),
  };
}

const FOLDER_PREFIX = 'emobot-commands-';
/**
 * A folder is named by its process and host: containers that share /dev/shm have pid namespaces of
 * their own, where another container's live process looks gone.
 */
const HOST = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 64);
const OWNER = new RegExp(`^${FOLDER_PREFIX}(\\d{1,9})\\.([A-Za-z0-9]*)-`);

/**
 * Removes the folders of recognisers whose process is gone (killed before it could release them,
 * maybe in the middle of an utterance, whose audio would stay there until the next reboot). Only
 * this user's own folders, never through a link, and never one whose process still runs.
 */
function sweepAbandonedFolders(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = OWNER.exec(name);
    const pid = Number(owner?.[1]);
    if (!owner || owner[2] !== HOST || !pid || pid === process.pid || processRuns(pid)) continue;
    const folder = path.join(parent, name);
    try {
      const stat = lstatSync(folder);
      if (stat.isDirectory() && stat.uid === process.getuid?.()) rmSync(folder, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * word -> its pronunciations, for the `wanted` words only, from a CMU-style dictionary ("word(2)"
 * lines are alternatives). Only the line's first field is looked at for the other 135,000 words:
 * parsing them all held the voice's start (and the event loop, the vision loop's too) for 0.15 s.
 */
function pronunciationsOf(dictionary: string, wanted: Set<string>): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (let start = 0; start < dictionary.length; ) {
    const newline = dictionary.indexOf('\n', start);
    const end = newline < 0 ? dictionary.length : newline;
    let first = start;
    while (first < end && (dictionary[first] === ' ' || dictionary[first] === '\t')) first++;
    let gap = first;
    while (gap < end && dictionary[gap] !== ' ' && dictionary[gap] !== '\t') gap++;
    const key = dictionary.slice(first, gap);
    // Only a wanted word's line is parsed whole; its word must be plain letters, since it goes into the grammar.
    if (wanted.has(key.endsWith(')') ? key.replace(/\(\d+\)$/, '') : key)) {
      const match = /^([a-z']+)(?:\(\d+\))?\s+(.+)$/.exec(dictionary.slice(first, end).trim());
      if (match) {
        const list = found.get(match[1]!) ?? [];
        list.push(match[2]!.trim());
        found.set(match[1]!, list);
      }
    }
    start = end + 1;
  }
  return found;
}

function grammarOf(commands: SpokenCommand[]): string {
  const phrases = (byName: boolean) => commands.filter((c) => c.byName === byName).flatMap((c) => c.phrases).join(' | ');
  const phones = PHONES.map(garbageWord).join(' | ');
  return [
    '#JSGF V1.0;',
    'grammar commands;',
    'public <utterance> = <command> | <other>+;',
    `<command> = ${NAME} [${POLITE}] (${phrases(true)}) [${POLITE}] | [${NAME}] [${POLITE}] (${phrases(false)}) [${POLITE}];`,
    `<other> = ${phones};`,
    '',
  ].join('\n');
}
