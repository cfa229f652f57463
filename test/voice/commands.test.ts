import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { COMMAND_SENTENCES as COMMANDS, heardAsItGoesOn, TALK_SENTENCES as TALK } from '../../src/bench/commands.js';
import { inNoise, QUIET_ROOM, realVoice, spokenInNoise, VOICES } from '../../src/bench/listening.js';
import { CommandRecognizer, standingOut, weigh, type DecodedPiece } from '../../src/voice/commands.js';

// Real pocketsphinx (Debian's) on espeak-ng speech, as the robot's microphone would hear it:
// hundreds of decodes, each with the room's noise taken out first, past the default two minutes a file
// gets on a 2-core machine running two files at once (122 s in CI).
t.setTimeout(300_000);
// The default config's poses, as the sentences expect.
const POSES = Object.keys(configSchema.parse({}).expression.poses);
const voices = VOICES.filter((v) => v.voice === 'en-us' || v.voice === 'en-gb');

// As the daemon builds it by default: the room's noise taken out first (held notes, then RNNoise).
const recognizer = await CommandRecognizer.load(POSES, true, (message) => {
  throw new Error(message);
});
t.teardown(() => recognizer.release());

async function score(noise: Parameters<typeof spokenInNoise>[2], roomS?: number, heardBy = recognizer) {
  const wrong: string[] = [];
  const taken: string[] = [];
  let right = 0;
  for (const voice of voices) {
    for (const [text, name] of COMMANDS) {
      const got = (await heardBy.recognise(await spokenInNoise(text, voice, noise, roomS))).command?.name;
      if (got === name) right++;
      else if (got) wrong.push(`${voice.voice} "${text}" as ${got}`);
    }
    for (const text of TALK) {
      const got = (await heardBy.recognise(await spokenInNoise(text, voice, noise, roomS))).command?.name;
      if (got) taken.push(`${voice.voice} "${text}" as ${got}`);
    }
  }
  return { right, of: COMMANDS.length * voices.length, wrong, taken, talk: TALK.length * voices.length };
}

t.test('the grammar: the fixed commands and the configured poses by their words; rest and sleep are not requests; a pose that cannot be said is reported, and why', async (t) => {
  const withOdd = CommandRecognizer.create([...POSES, 'look_up', 'robot_wave', 'wave2', 'm1', 'zqxj', 'wake_up', 'look-left', 'please']);
  t.teardown(() => withOdd.release());
  t.same(withOdd.commands.map((c) => c.name), ['sleep', 'wake-up', 'be-quiet', 'speak-again', 'how-do-i-look', 'what-time-is-it', 'pose:nod', 'pose:look_left', 'pose:look_right', 'pose:curious', 'pose:look_up', 'pose:robot_wave']);
  t.same(withOdd.commands.find((c) => c.name === 'pose:robot_wave')?.phrases, ['wave'], 'the name said before it is not part of the pose');
  t.same(withOdd.unspeakable, [
    { pose: 'wave2', why: '"wave2" is not in the pronunciation dictionary' },
    // The dictionary has "m1" (as "em one"), but only plain words go into the grammar.
    { pose: 'm1', why: '"m1" is not in the pronunciation dictionary' },
    { pose: 'zqxj', why: '"zqxj" is not in the pronunciation dictionary' },
    { pose: 'wake_up', why: '"wake up" is already the wake-up command' },
    { pose: 'look-left', why: '"look left" is already the pose:look_left command' },
    { pose: 'please', why: 'its name has no words besides "robot" and "please"' },
  ]);
});

t.test('what changes what the robot does must be said to it by name; the two questions need no name; long talk is not decoded', async (t) => {
  const voice = voices[0]!;
  t.match(await recognizer.recognise(await spokenInNoise('Robot, please be quiet.', voice, QUIET_ROOM)), { command: { name: 'be-quiet' } });
  t.equal((await recognizer.recognise(await spokenInNoise('Please be quiet.', voice, QUIET_ROOM))).command, undefined, 'without the name: not a command');
  t.match(await recognizer.recognise(await spokenInNoise('How do I look?', voice, QUIET_ROOM)), { command: { name: 'how-do-i-look' } });
  const long = await spokenInNoise('Robot, go to sleep. '.repeat(6), voice, QUIET_ROOM);
  t.same(await recognizer.recognise(long), { text: '' }, `${Math.round(long.length / 32)} ms of speech: talk, not a command`);
  // Pauses of 0.6 s, under the detector's end_silence_ms: one utterance, in which the person's own
  // talk is the room's level, so no command stands out of it.
  const sentence = await spokenInNoise('Robot, go to sleep.', voice, QUIET_ROOM, 0.3);
  const paused = Buffer.concat(Array.from({ length: 4 }, () => sentence));
  t.same(await recognizer.recognise(paused), { text: '' }, `the same with pauses, ${Math.round(paused.length / 32)} ms: talk`);
});

t.test('in a quiet room: the commands are recognised, and ordinary talk is not taken for one', async (t) => {
  const r = await score(QUIET_ROOM);
  t.ok(r.right >= r.of - 1, `${r.right} of ${r.of} commands recognised`);
  // With the decoder's default beams both voices heard "robot, be quiet" as "robot, speak again".
  t.equal(r.wrong.length, 0, `${r.wrong.length} taken for another command: ${r.wrong.join('; ')}`);
  t.ok(r.taken.length <= 1, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
  const heard = await recognizer.recognise(await spokenInNoise('Robot, please go to sleep.', voices[0]!, QUIET_ROOM));
  t.match(heard, { text: 'robot please go to sleep', command: { name: 'sleep', action: { kind: 'control', request: { mode: 'sleep' } } } }, 'what was heard, with the polite words');
});

t.test('at 10 dB SNR in pink noise: most commands still recognised, ordinary talk still not taken for one', async (t) => {
  const r = await score({ kind: 'pink', snrDb: 10 });
  t.ok(r.right >= r.of - 4, `${r.right} of ${r.of} commands recognised`);
  t.ok(r.wrong.length <= 1, `${r.wrong.length} taken for another command: ${r.wrong.join('; ')}`);
  t.ok(r.taken.length <= 1, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
});

t.test('at 10 dB SNR in babble (people talking in the room): the person nearest, the loudest, is heard; the room is not taken for a command', async (t) => {
  const r = await score({ kind: 'babble', snrDb: 10 });
  // Without weighing the words by loudness, the room's talk around each command made it "something else": none passed.
  t.ok(r.right >= r.of / 2, `${r.right} of ${r.of} commands recognised`);
  t.equal(r.wrong.length, 0, `${r.wrong.length} taken for another command: ${r.wrong.join('; ')}`);
  // "Sleep tight" over babble decodes as "robot" (from the room) and "sleep" (from the person): the name must be the person's.
  t.equal(r.taken.length, 0, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
});

t.test('at 10 dB SNR in music: with the room\'s noise taken out, commands are heard that the decoder alone missed; talk is still not taken for one', async (t) => {
  const music = { kind: 'chords', snrDb: 10 } as const;
  const unsuppressed = CommandRecognizer.create(POSES);
  t.teardown(() => unsuppressed.release());
  const [r, without] = [await score(music), await score(music, undefined, unsuppressed)];
  // pocketsphinx's own noise removal follows a slow average of the spectrum, which notes that change every beat defeat.
  t.ok(r.right >= without.right + 3, `${r.right} of ${r.of} commands recognised, ${without.right} without noise suppression`);
  // RNNoise alone lets the held notes through: 10 of these 16 (15 of the bench's 32), 15 with them taken out first (24 of 32).
  t.ok(r.right >= (3 * r.of) / 4, `${r.right} of ${r.of}`);
  t.equal(r.wrong.length, 0, `${r.wrong.length} taken for another command: ${r.wrong.join('; ')}`);
  t.equal(r.taken.length, 0, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
});

t.test('babble runs into one long utterance (the voice detector hears it as speech): a command standing out of it is still heard, talk is not taken for one', async (t) => {
  const r = await score({ kind: 'babble', snrDb: 10 }, 4);
  // Longer than a command can be, such an utterance was not decoded at all: none passed.
  t.ok(r.right >= r.of / 3, `${r.right} of ${r.of} commands recognised`);
  t.equal(r.wrong.length, 0, `${r.wrong.length} taken for another command: ${r.wrong.join('; ')}`);
  t.equal(r.taken.length, 0, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
});

/** 16 kHz PCM made of stretches [seconds, amplitude]: a steady level each, as loud as the amplitude. */
function levels(...stretches: [seconds: number, amplitude: number][]): Int16Array {
  const out: number[] = [];
  for (const [seconds, amplitude] of stretches) for (let i = 0; i < seconds * 16_000; i++) out.push(i % 2 ? amplitude : -amplitude);
  return Int16Array.from(out);
}
const asPcm = (samples: Int16Array) => Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
const ctm = (...words: [start: number, duration: number, word: string][]) => words.map(([start, duration, word]) => `u 1 ${start.toFixed(2)} ${duration.toFixed(2)} ${word} 1.000`).join('\n') + '\n';

t.test('weighing the words: a CTM duration is a frame short; the room, the name from the room, and what no word covers', async (t) => {
  // Half a second of the room, a second of the person, half a second of the room.
  const pcm = asPcm(levels([0.5, 200], [1, 2000], [0.5, 200]));
  const said = ctm([0.5, 0.29, 'robot'], [0.8, 0.39, 'wake'], [1.2, 0.29, 'up']);
  t.same(weigh(said, pcm), { words: ['robot', 'wake', 'up'], somethingElse: false }, 'words that meet, the room around them');
  t.same(weigh(ctm([0.5, 0.29, 'robot'], [0.8, 0.39, 'wake']), pcm), { words: ['robot', 'wake'], somethingElse: true }, 'the person went on after the last word');
  t.same(weigh(ctm([0.0, 0.49, 'robot'], [0.5, 0.29, 'garbage_ah'], [0.8, 0.39, 'wake'], [1.2, 0.29, 'up']), pcm), { words: ['wake', 'up'], somethingElse: true }, 'the name from the room is left out; a phone at the person\'s level is something else');
  t.same(weigh(ctm([0.0, 0.49, 'garbage_ah'], [0.5, 0.29, 'robot'], [0.8, 0.39, 'wake'], [1.2, 0.29, 'up'], [1.5, 0.49, 'garbage_ih']), pcm), { words: ['robot', 'wake', 'up'], somethingElse: false }, "phones in the room's level are the room's");
  t.same(weigh(ctm([0.5, 0.29, 'robot'], [0.8, 0.39, 'wake']) + 'u 1 1.20 later up 1.000\n', pcm), { words: ['robot', 'wake'], somethingElse: true }, 'a line without times is left out, and its stretch is uncovered');
  const odd = Buffer.alloc(pcm.length + 1);
  pcm.copy(odd, 1);
  t.same(weigh(said, odd.subarray(1)), { words: ['robot', 'wake', 'up'], somethingElse: false }, 'audio at an odd offset in its buffer');
});

t.test('a long utterance: the pieces that stand out of the room, with a margin, a pause after the name kept within one; talk at one level has none', async (t) => {
  const s = (samples: number) => samples / 16_000;
  const over = (pieces: [number, number][]) => pieces.map(([from, to]) => [s(from), s(to)]);
  t.same(over(standingOut(levels([4, 300], [1, 3000], [5, 300]))), [[3.2, 5.8]], 'one command in 10 s of babble');
  // "robot", a second's pause, "wake up": one piece.
  t.same(over(standingOut(levels([4, 300], [0.5, 3000], [1, 300], [0.8, 3000], [4, 300]))), [[3.2, 7.1]], 'a pause after the name');
  t.same(standingOut(levels([6, 300], [0.2, 3000], [6, 300])), [], 'a syllable is not a command');
  t.same(standingOut(levels([2, 300], [4, 3000], [6, 300])), [], 'longer than a command');
  const talk: [number, number][] = Array.from({ length: 6 }, (_, i): [number, number][] => [[1.5, 2000 + 100 * i], [0.4, 200]]).flat();
  t.same(standingOut(levels(...talk)), [], "a person talking on: their own level is the utterance's median");
  const many: [number, number][] = Array.from({ length: 5 }, (_, i): [number, number][] => [[3, 300], [1, 2000 + 500 * i]]).flat();
  t.same(over(standingOut(levels(...many, [3, 300]))).map(([from]) => from), [10.2, 14.2, 18.2], 'at most three pieces, the loudest, in time order');
});

t.test('an utterance going on: only a piece that has ended, and none decoded before', async (t) => {
  const s = (samples: number) => samples / 16_000;
  const over = (pieces: [number, number][]) => pieces.map(([from, to]) => [s(from), s(to)]);
  // The piece ends at 5.8 s (its margin included); a loud window starting within a margin of that would still join it.
  t.same(standingOut(levels([4, 300], [1, 3000], [1.6, 300]), { endedOnly: true }), [], 'a loud stretch could still follow');
  t.same(over(standingOut(levels([4, 300], [1, 3000], [1.7, 300]), { endedOnly: true })), [[3.2, 5.8]], 'none can join it any more');
  t.same(over(standingOut(levels([4, 300], [1, 3000], [1.6, 300]))), [[3.2, 5.8]], 'at the end of an utterance, all are taken');
  const twice = levels([4, 300], [1, 3000], [4, 300], [1, 3500], [4, 300]);
  const at = (seconds: number) => Math.round(seconds * 16_000);
  t.same(over(standingOut(twice, { besides: [[at(3.2), at(5.8)]] })), [[8.2, 10.8]], 'one decoded before is left out');
  t.same(over(standingOut(twice, { besides: [[at(3.3), at(5.7)]] })), [[8.2, 10.8]], 'so is one within a hop of it (the room level moved)');
  t.same(over(standingOut(twice, { besides: [[at(3.2), at(5.0)], [0, 16_000]] })), [[3.2, 5.8], [8.2, 10.8]], 'one that has grown past it, or another, stays');
});

t.test('babble that never pauses: a command is heard as the utterance goes on, soon after it was said, and its piece is not decoded again', async (t) => {
  const roomS = 6;
  const wrong: string[] = [];
  const late: string[] = [];
  let right = 0;
  for (const voice of voices) {
    for (const [text, name] of COMMANDS) {
      const pcm = await spokenInNoise(text, voice, { kind: 'babble', snrDb: 10 }, roomS);
      const heard = await heardAsItGoesOn(recognizer, pcm);
      const saidMs = (pcm.length / 2 / 16) - roomS * 1000;
      if (heard.command === name) {
        right++;
        // Said, then about 1.6 s for its piece to be known over, and a look every half second.
        if (heard.atMs - saidMs > 2500) late.push(`${voice.voice} "${text}" ${Math.round(heard.atMs - saidMs)} ms after it was said`);
      } else if (heard.command) wrong.push(`${voice.voice} "${text}" as ${heard.command}`);
    }
  }
  t.ok(right >= COMMANDS.length * voices.length - 4, `${right} of ${COMMANDS.length * voices.length} commands recognised`);
  t.same(late, [], 'each within 2.5 s of being said, 6 s before the utterance ended');
  t.same(wrong, [], 'none taken for another command');
  const pcm = await spokenInNoise('Robot, go to sleep.', voices[0]!, { kind: 'babble', snrDb: 10 }, roomS);
  const decoded: DecodedPiece[] = [];
  let found;
  let end = 0;
  while (!found && end < pcm.length) found = await recognizer.spot(pcm.subarray(0, (end += 16_000)), decoded);
  t.match(found, { command: { name: 'sleep' } }, 'spot: heard before the end');
  t.ok(end < pcm.length, `at ${end / 16} ms of ${pcm.length / 32}`);
  // The decoder counted (or failing) from here on; the shared recogniser gets it back at the end.
  const inner = recognizer as unknown as { decode(pcm: Buffer): Promise<unknown> };
  const real = inner.decode;
  let decodes = 0;
  inner.decode = function (this: unknown, piece: Buffer) {
    decodes++;
    return real.call(this, piece);
  };
  try {
    t.match(await recognizer.recognise(pcm, decoded), { command: { name: 'sleep' } }, 'at the end: the same command');
    t.equal(decodes, 0, 'from the pieces decoded while it went on, none decoded again');
    t.equal(await recognizer.spot(pcm.subarray(0, 3 * 16_000), []), undefined, 'too short to hold a piece');
    t.equal(decodes, 0, 'so nothing decoded');
    const failing: DecodedPiece[] = [];
    inner.decode = async () => {
      throw new Error('decoder crashed');
    };
    await t.rejects(recognizer.spot(pcm.subarray(0, end), failing), /decoder crashed/);
    t.same(failing, [], 'a decode that failed adds nothing');
    inner.decode = real;
    t.match(await recognizer.spot(pcm.subarray(0, end), failing), { command: { name: 'sleep' } }, 'so its piece is decoded again');
  } finally {
    inner.decode = real;
  }
});

t.test('a real voice saying what is not a command ("front left", "rear right" and the like): not taken for one, in a quiet room or over babble', async (t) => {
  const real = await realVoice();
  t.ok(real?.length === 8, "alsa-utils' eight recordings (set-up installs them)");
  for (const noise of [QUIET_ROOM, { kind: 'babble', snrDb: 10 } as const]) {
    const taken: string[] = [];
    for (const { text, speech } of real ?? []) {
      const heard = await recognizer.recognise(await inNoise(speech, noise));
      if (heard.command) taken.push(`"${text}" as ${heard.command.name}`);
    }
    t.same(taken, [], `${noise.kind} at ${noise.snrDb} dB SNR`);
  }
});

t.test('a long utterance over babble holding two commands: the first that the caller takes is the answer', async (t) => {
  const babbleAt10 = { kind: 'babble', snrDb: 10 } as const;
  const pcm = Buffer.concat([await spokenInNoise('Robot, go to sleep.', voices[0]!, babbleAt10, 3), await spokenInNoise('Robot, wake up.', voices[0]!, babbleAt10, 3)]);
  t.match(await recognizer.recognise(pcm), { command: { name: 'sleep' } }, 'the first');
  // Asleep only "wake up" may act: a "sleep" before it must not hide it.
  t.match(await recognizer.recognise(pcm, [], (command) => command.name === 'wake-up'), { command: { name: 'wake-up' } }, 'the first taken');
  t.same(await recognizer.recognise(pcm, [], () => false), { text: '' }, 'none taken');
});

t.test('a pause after the name: still the command', async (t) => {
  const voice = voices[0]!;
  const paused = Buffer.concat([await spokenInNoise('Robot.', voice, QUIET_ROOM), await spokenInNoise('Wake up.', voice, QUIET_ROOM)]);
  t.match(await recognizer.recognise(paused), { command: { name: 'wake-up' } }, `"robot", a second's pause, "wake up"`);
});

t.test("a folder left by a recogniser whose process was killed is removed by the next one; a running process's, another host's folder and a link are not touched", async (t) => {
  const parent = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const host = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 64);
  const abandoned = mkdtempSync(path.join(parent, `emobot-commands-${gone}.${host}-`));
  // Another container's, sharing /dev/shm: its pid means nothing here.
  const otherHost = mkdtempSync(path.join(parent, `emobot-commands-${gone}.${host}x-`));
  writeFileSync(path.join(abandoned, 'u1.raw'), Buffer.alloc(3200));
  const running = mkdtempSync(path.join(parent, `emobot-commands-${process.ppid}.${host}-`));
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'emobot-sweep-target-'));
  writeFileSync(path.join(elsewhere, 'keep'), 'x');
  const link = path.join(parent, `emobot-commands-${gone}.${host}-link`);
  symlinkSync(elsewhere, link);
  t.teardown(() => {
    for (const p of [abandoned, otherHost, running, elsewhere, link]) rmSync(p, { recursive: true, force: true });
  });
  const next = CommandRecognizer.create(POSES);
  next.release();
  t.notOk(existsSync(abandoned), 'the killed process\'s folder, with the audio it held, is gone');
  t.ok(existsSync(running), 'a running process\'s folder stays');
  t.ok(existsSync(otherHost), 'another host\'s folder stays');
  t.ok(lstatSync(link).isSymbolicLink() && existsSync(path.join(elsewhere, 'keep')), 'a link is not followed, nor removed');
});
