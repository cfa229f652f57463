import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { COMMAND_SENTENCES as COMMANDS, TALK_SENTENCES as TALK } from '../../src/bench/commands.js';
import { QUIET_ROOM, spokenInNoise, VOICES } from '../../src/bench/listening.js';
import { spokenRecording } from '../../src/dev/fake-microphone.js';
import { CommandRecognizer } from '../../src/voice/commands.js';

// Real pocketsphinx (Debian's) on espeak-ng speech, as the robot's microphone would hear it.
// The default config's poses, as the sentences expect.
const POSES = Object.keys(configSchema.parse({}).expression.poses);
const voices = VOICES.filter((v) => v.voice === 'en-us' || v.voice === 'en-gb');

const recognizer = CommandRecognizer.create(POSES);
t.teardown(() => recognizer.release());

async function score(noise: Parameters<typeof spokenInNoise>[2]) {
  const wrong: string[] = [];
  const taken: string[] = [];
  let right = 0;
  for (const voice of voices) {
    for (const [text, name] of COMMANDS) {
      const got = (await recognizer.recognise(await spokenInNoise(text, voice, noise))).command?.name;
      if (got === name) right++;
      else if (got) wrong.push(`${voice.voice} "${text}" as ${got}`);
    }
    for (const text of TALK) {
      const got = (await recognizer.recognise(await spokenInNoise(text, voice, noise))).command?.name;
      if (got) taken.push(`${voice.voice} "${text}" as ${got}`);
    }
  }
  return { right, of: COMMANDS.length * voices.length, wrong, taken, talk: TALK.length * voices.length };
}

t.test('the grammar: the fixed commands and the configured poses by their words; rest and sleep are not requests; an unsayable pose is reported', async (t) => {
  const withOdd = CommandRecognizer.create([...POSES, 'look_up', 'wave2', 'zqxj']);
  t.teardown(() => withOdd.release());
  t.same(withOdd.commands.map((c) => c.name), ['sleep', 'wake-up', 'be-quiet', 'speak-again', 'how-do-i-look', 'what-time-is-it', 'pose:nod', 'pose:look_left', 'pose:look_right', 'pose:curious', 'pose:look_up']);
  t.same(withOdd.commands.find((c) => c.name === 'pose:look_up')?.phrases, ['look up']);
  t.same(withOdd.unspeakable, [{ pose: 'wave2', word: 'wave2' }, { pose: 'zqxj', word: 'zqxj' }]);
});

t.test('in a quiet room: the commands are recognised, and ordinary talk is not taken for one', async (t) => {
  const r = await score(QUIET_ROOM);
  t.ok(r.right >= r.of - 1, `${r.right} of ${r.of} commands recognised`);
  t.same(r.wrong, [], 'no command taken for another');
  t.ok(r.taken.length <= 1, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
  const heard = await recognizer.recognise(await spokenInNoise('Robot, please go to sleep.', voices[0]!, QUIET_ROOM));
  t.match(heard, { text: 'robot please go to sleep', command: { name: 'sleep', action: { kind: 'control', mode: 'sleep' } } }, 'what was heard, with the polite words');
});

t.test('at 10 dB SNR in pink noise: most commands still recognised, ordinary talk still not taken for one', async (t) => {
  const r = await score({ kind: 'pink', snrDb: 10 });
  t.ok(r.right >= r.of - 3, `${r.right} of ${r.of} commands recognised`);
  t.same(r.wrong, [], 'no command taken for another');
  t.ok(r.taken.length <= 1, `${r.taken.length} of ${r.talk} sentences taken for a command: ${r.taken.join('; ')}`);
});

t.test('speech the decoder explains as silence is not a command: "wait a moment please" is not "sleep"', async (t) => {
  // As the fake microphone records it (digital silence around espeak-ng's voice), the decoder puts
  // "wait a moment" in a long silence and hears "sleep" in "please".
  const heard = await recognizer.recognise(await spokenRecording('Wait a moment please.', 500, 1500));
  t.equal(heard.command, undefined, `heard as "${heard.text}", not taken for a command`);
  t.match(await recognizer.recognise(await spokenRecording('Robot, wake up.', 500, 1500)), { command: { name: 'wake-up' } }, 'a command with pauses around it still is one');
});
