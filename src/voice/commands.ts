import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BusEvents } from '../runtime/events.js';

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
/** Commands are a few words: a longer utterance is talk, and is not decoded (it would only delay its answer). */
const MAX_COMMAND_MS = 4000;

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
    /** Poses that cannot be said, and why (a word the pronunciation dictionary lacks, a phrase taken). */
    readonly unspeakable: { pose: string; why: string }[],
    private readonly folder: string,
  ) {}

  /** Throws when pocketsphinx is not installed; `poses` are the configured pose names. */
  static create(poses: string[]): CommandRecognizer {
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
    return new CommandRecognizer(commands, unspeakable, folder);
  }

  /** 16-bit mono PCM at 16 kHz (the microphone's) to the command it is, if it is one. */
  async recognise(pcm: Buffer): Promise<Recognised> {
    if (pcm.length / 32 > MAX_COMMAND_MS) return { text: '' };
    const id = `u${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const audio = path.join(this.folder, `${id}.raw`);
    const control = path.join(this.folder, `${id}.ctl`);
    const hypothesis = path.join(this.folder, `${id}.hyp`);
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
          ...SEARCH_BEAMS, '-wip', WORD_INSERTION_PENALTY, '-dither', 'yes', '-seed', '1', '-samprate', '16000', '-adcin', 'yes', '-adchdr', '0', '-cepdir', this.folder, '-cepext', '.raw',
          '-ctl', control, '-hyp', hypothesis, '-logfn', '/dev/null'],
        { timeout: 10_000 },
      );
      return this.interpret(readFileSync(hypothesis, 'utf8'));
    } finally {
      for (const file of [audio, control, hypothesis]) rmSync(file, { force: true });
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
    // The grammar lets through only commands said as they must be (by name, where byName).
    let first = heard[0] === NAME ? 1 : 0;
    if (heard[first] === POLITE) first++;
    const last = heard.length > first && heard.at(-1) === POLITE ? heard.length - 1 : heard.length;
    const said = heard.slice(first, last).join(' ');
    const command = this.commands.find((c) => c.phrases.includes(said));
    return command ? { text, command } : { text };
  }
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
