import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readWav, utterancesIn, WavError } from '../../src/cli/hear.js';
import { CommandRecognizer } from '../../src/voice/commands.js';
import { configSchema } from '../../src/config/schema.js';
import { spokenInNoise, VOICES } from '../../src/bench/listening.js';
import { spokenRecording } from '../../src/dev/fake-microphone.js';
import { wav } from '../../src/voice/transcriber.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-hear-'));
const listen = configSchema.parse({}).voice.listen;

/** One recording: 1 s of silence, a question, 2 s of silence, a command, 1 s of silence. */
async function conversation(): Promise<{ file: string; firstEndsMs: number; secondStartsMs: number }> {
  const first = await spokenRecording('What is the weather like today?', 1000, 2000);
  const second = await spokenRecording('Robot, please go to sleep.', 0, 1000);
  const file = path.join(dir, 'room.wav');
  writeFileSync(file, wav(Buffer.concat([first, second]), 16_000));
  return { file, firstEndsMs: first.length / 32 - 2000, secondStartsMs: first.length / 32 };
}

t.test('each utterance of a recording with its start and end, through the default (Silero) detector', async (t) => {
  const { file, firstEndsMs, secondStartsMs } = await conversation();
  const found = await utterancesIn(file, listen);
  t.equal(found.length, 2, JSON.stringify(found));
  const [a, b] = found;
  t.ok(Math.abs(a!.startMs - 1000) < 300, `the first starts near 1.0 s (${a!.startMs} ms)`);
  t.ok(Math.abs(a!.endMs - firstEndsMs) < 400, `and ends near ${firstEndsMs} ms (${a!.endMs})`);
  t.ok(b!.startMs >= secondStartsMs - 100 && b!.startMs < secondStartsMs + 400, `the second starts near ${secondStartsMs} ms (${b!.startMs})`);
  t.same([a!.text, a!.command], [null, null], 'no command words: without a recogniser given');
  const commands = CommandRecognizer.create(['rest', 'sleep']);
  t.teardown(() => commands.release());
  const recognised = await utterancesIn(file, listen, commands);
  t.same(recognised.map((u) => [u.command, u.text]), [[null, null], ['sleep', 'robot please go to sleep']], 'the question is not a command; the second is');
  t.same(await utterancesIn(file, { ...listen, detector: 'energy' }).then((u) => u.length), 2, 'the energy detector finds them too in a quiet room');
});

t.test('a command said while the room talks on is heard as it is said, not when the utterance is cut', async (t) => {
  // 8 s of babble either side: longer than max_utterance_ms, so the detector would cut it only at 15 s.
  const pcm = await spokenInNoise('Robot, go to sleep.', VOICES[0]!, { kind: 'babble', snrDb: 10 }, 8);
  const saidMs = pcm.length / 32 - 8000;
  const file = path.join(dir, 'babble.wav');
  writeFileSync(file, wav(pcm, 16_000));
  const commands = CommandRecognizer.create(['rest', 'sleep']);
  t.teardown(() => commands.release());
  const startsMs = saidMs - (pcm.length / 32 - 16_000);
  // With nearer_voice_db the person, nearer than the talking room, says the command in an utterance of its own.
  const found = await utterancesIn(file, { ...listen, nearer_voice_db: 8 }, commands);
  const command = found.find((u) => u.command);
  t.match(command, { command: 'sleep', text: 'robot go to sleep' }, JSON.stringify(found));
  t.ok(Math.abs(command!.startMs - startsMs) < 400 && Math.abs(command!.endMs - saidMs) < 600, `from ${command!.startMs} to ${command!.endMs} ms, said from ${Math.round(startsMs)} to ${Math.round(saidMs)}`);
  // Without it (the default) it is one long utterance: looked at as it goes on, the command is heard as it is said.
  const [first] = await utterancesIn(file, listen, commands);
  t.match(first, { command: 'sleep', text: 'robot go to sleep' });
  t.ok(first!.endMs - saidMs <= 2500 && first!.endMs < listen.max_utterance_ms, `heard at ${first!.endMs} ms, ${Math.round(first!.endMs - saidMs)} ms after it was said`);
});

t.test('silence, and speech that runs to the very end of the file', async (t) => {
  const quiet = path.join(dir, 'quiet.wav');
  writeFileSync(quiet, wav(Buffer.alloc(16_000 * 2 * 3), 16_000));
  t.same(await utterancesIn(quiet, listen), []);
  const cut = path.join(dir, 'cut.wav');
  writeFileSync(cut, wav(await spokenRecording('Hello robot, how are you?', 500, 0), 16_000));
  t.equal((await utterancesIn(cut, listen)).length, 1, 'ended by the silence after the recording');
});

t.test('WAV files: stereo is mixed down; other rates and formats are refused naming the file', async (t) => {
  const mono = await spokenRecording('Hello.', 200, 200);
  const stereo = Buffer.alloc(mono.length * 2);
  for (let i = 0; i < mono.length / 2; i++) {
    stereo.writeInt16LE(mono.readInt16LE(i * 2), i * 4);
    stereo.writeInt16LE(mono.readInt16LE(i * 2), i * 4 + 2);
  }
  const header = wav(stereo, 16_000);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(16_000 * 4, 28);
  header.writeUInt16LE(4, 32);
  const file = path.join(dir, 'stereo.wav');
  writeFileSync(file, header);
  t.ok(readWav(file).pcm.equals(mono), 'both channels averaged back to the mono samples');
  const notWav = path.join(dir, 'notes.wav');
  writeFileSync(notWav, 'not audio at all');
  t.throws(() => readWav(notWav), new WavError(`${notWav}: not a WAV file`));
  const float = wav(mono, 16_000);
  float.writeUInt16LE(3, 20);
  writeFileSync(path.join(dir, 'float.wav'), float);
  t.throws(() => readWav(path.join(dir, 'float.wav')), /float\.wav: not 16-bit PCM/);
  writeFileSync(path.join(dir, 'cd.wav'), wav(mono, 44_100));
  await t.rejects(utterancesIn(path.join(dir, 'cd.wav'), listen), /cd\.wav: 44100 Hz; the robot listens at 16000 Hz/);
});

t.test('emobot hear: a folder, one JSON line per utterance, and a failing file makes exit 1', async (t) => {
  const { file } = await conversation();
  const folder = path.join(dir, 'recordings');
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'a-room.wav'), wav(Buffer.concat([await spokenRecording('Good morning.', 500, 1000)]), 16_000));
  writeFileSync(path.join(folder, 'ignored.txt'), 'not a recording');
  const json = await runCli(['hear', '--json', folder, file]);
  t.equal(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; startMs: number; endMs: number; text: string | null; command: string | null });
  t.same(lines.map((l) => path.basename(l.file)), ['a-room.wav', 'room.wav', 'room.wav']);
  t.ok(lines.every((l) => l.endMs > l.startMs));
  t.same(lines.map((l) => l.command), [null, null, 'sleep'], 'the spoken command, by the configured recogniser');
  const text = await runCli(['hear', file, path.join(dir, 'cd.wav')]);
  t.equal(text.code, 1);
  t.match(text.stdout, /room\.wav: 2 utterances \(silero detector\)\n {2}\d+\.\d\d-\d+\.\d\d s {2}speech\n {2}\d+\.\d\d-\d+\.\d\d s {2}command sleep \("robot please go to sleep"\)\n/);
  t.match(text.stderr, /cd\.wav: 44100 Hz/);
  t.equal((await runCli(['hear'])).code, 2);
});
