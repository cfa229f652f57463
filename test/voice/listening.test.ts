import t from 'tap';
import { AttentionGate } from '../../src/voice/attention.js';
import { Pipeline } from '../../src/voice/frames.js';
import { AttentionStage, AwakeStage, CommandStage, DetectorStage, RecogniserStage, type ListeningFrame, type Reach } from '../../src/voice/listening.js';
import { CommandRecognizer, type DecodedPiece, type SpokenCommand } from '../../src/voice/commands.js';
import { QUIET_ROOM, spokenInNoise, VOICES } from '../../src/bench/listening.js';
import { Transcriber } from '../../src/voice/transcriber.js';
import { configSchema } from '../../src/config/schema.js';
import { startFakeCloud } from '../../src/dev/fake-cloud.js';
import { waitFor } from '../helpers/wait.js';
import { VoiceActivityDetector, type SpeechDetector } from '../../src/voice/vad.js';
import { capturingLogger } from '../helpers/log.js';
import { collector } from '../helpers/stages.js';
import { attendedFace, visionFrame } from '../helpers/vision-frame.js';

const RATE = 16_000;
const FRAME = 512;
const settings = { sampleRate: RATE, min_speech_ms: 60, end_silence_ms: 100, preroll_ms: 0, max_utterance_ms: 15_000 };

const utterance = (durationMs = 800, reach: Reach = 'reply'): Extract<ListeningFrame, { type: 'utterance' }> => ({ type: 'utterance', pcm: Buffer.alloc(32), durationMs, startMs: 0, endMs: durationMs, reach });
const soFar = (bytes: number, startMs = 0, reach: Reach = 'reply'): Extract<ListeningFrame, { type: 'speech-so-far' }> => ({ type: 'speech-so-far', pcm: Buffer.alloc(bytes), durationMs: bytes / 32, startMs, atMs: startMs + bytes / 32, reach });
const kinds = (frames: ListeningFrame[]) => frames.map((f) => f.type);

/** Speech wherever a sample is non-zero, unless `boost` is above 1; records the boosts it was asked with. */
function loudnessDetector(): SpeechDetector & { boosts: number[] } {
  const boosts: number[] = [];
  return {
    name: 'test',
    frameSamples: FRAME,
    boosts,
    judge: (frame, boost) => {
      boosts.push(boost);
      const speech = frame.some((s) => s !== 0) && boost === 1;
      return { starts: speech, continues: speech };
    },
    release: async () => {},
  };
}

const audio = (loud: boolean, frames: number, capturedAt: number): ListeningFrame => ({ type: 'audio', pcm: Buffer.alloc(FRAME * 2 * frames, loud ? 0x40 : 0), capturedAt });

t.test('speech detector: audio in, speech-started then the utterance out; other frames pass', async (t) => {
  const detector = loudnessDetector();
  const end = collector();
  const pipeline = new Pipeline([new DetectorStage(new VoiceActivityDetector(settings, detector), detector, 3), end], () => t.fail('no stage fails'));
  pipeline.push(audio(true, 10, 0));
  pipeline.push(audio(false, 10, 1));
  pipeline.push({ type: 'transcript', text: 'passes' });
  await pipeline.idle();
  t.same(kinds(end.got), ['speech-started', 'utterance', 'transcript']);
  const said = end.got[1] as Extract<ListeningFrame, { type: 'utterance' }>;
  t.ok(said.durationMs > 300 && said.durationMs < 700, `the utterance: ${Math.round(said.durationMs)} ms`);
});

t.test('speech detector: the bar is raised for audio captured while the robot talked, however late it is judged', async (t) => {
  const detector = loudnessDetector();
  const stage = new DetectorStage(new VoiceActivityDetector(settings, detector), detector, 3);
  const pipeline = new Pipeline([stage, collector()], () => t.fail('no stage fails'));
  pipeline.pushUp({ type: 'robot-speaking', speaking: true, at: 100 });
  pipeline.pushUp({ type: 'robot-speaking', speaking: false, at: 200 });
  // All of it reaches the detector after both changes were known.
  pipeline.push(audio(true, 1, 50));
  pipeline.push(audio(true, 1, 150));
  pipeline.push(audio(true, 1, 250));
  await pipeline.idle();
  t.same(detector.boosts, [1, 3, 1], 'before, while and after the robot talked');
});

t.test('awake gate: an utterance goes on with what the robot may do now, and is dropped when that is nothing', async (t) => {
  let reach: Reach | undefined;
  const end = collector();
  const pipeline = new Pipeline([new AwakeStage(() => reach), end], () => t.fail('no stage fails'));
  pipeline.push({ type: 'speech-started', atMs: 0 });
  pipeline.push(utterance());
  for (const now of ['wake', 'commands', 'reply'] as const) {
    await pipeline.idle();
    reach = now;
    pipeline.push(utterance());
  }
  await pipeline.idle();
  t.same(end.got.map((f) => (f.type === 'utterance' ? f.reach : f.type)), ['speech-started', 'wake', 'commands', 'reply']);
});

t.test('attention gate: drops an utterance nobody addressed to the robot, says why, warns once when vision is blind', async (t) => {
  const { log, messages } = capturingLogger();
  let now = 10_000;
  const gate = new AttentionGate({ attention_max_yaw_deg: 35, attention_window_ms: 2000 }, () => now);
  const end = collector();
  const pipeline = new Pipeline([new AttentionStage(gate, log), end], () => t.fail('no stage fails'));
  pipeline.push(utterance());
  pipeline.push(utterance());
  await pipeline.idle();
  t.same(end.got, [], 'nobody in view: both dropped');
  t.equal(messages().filter((m) => /utterance of 800 ms dropped on the robot/.test(m)).length, 2);
  t.equal(messages().filter((m) => /vision reports no frames/.test(m)).length, 1, 'the blind-vision warning, once');
  gate.frame(visionFrame([attendedFace({})]));
  now += 500;
  pipeline.push(utterance());
  await pipeline.idle();
  t.same(kinds(end.got), ['utterance'], 'a face in view, facing the robot: passed');
});

t.test('awake and attention gates: speech so far is judged as an utterance is; nobody addressed, it is dropped without a log line', async (t) => {
  const { log, messages } = capturingLogger();
  let now = 10_000;
  let reach: Reach | undefined;
  const gate = new AttentionGate({ attention_max_yaw_deg: 35, attention_window_ms: 2000 }, () => now);
  const end = collector();
  const pipeline = new Pipeline([new AwakeStage(() => reach), new AttentionStage(gate, log), end], () => t.fail('no stage fails'));
  pipeline.push(soFar(3200));
  reach = 'reply';
  await pipeline.idle();
  pipeline.push(soFar(3200));
  await pipeline.idle();
  t.same(end.got, [], 'dropped while the robot may do nothing, and while nobody looks');
  t.same(messages(), [], 'without a line: the utterance is judged, and logged, when it ends');
  gate.frame(visionFrame([attendedFace({})]));
  now += 500;
  reach = 'commands';
  pipeline.push(soFar(3200));
  await pipeline.idle();
  t.match(end.got, [{ type: 'speech-so-far', reach: 'commands' }], 'looked at: passed, with what it may lead to');
});

t.test('attention gate: asleep the robot does not look, so what may wake it passes without a face', async (t) => {
  const { log } = capturingLogger();
  const gate = new AttentionGate({ attention_max_yaw_deg: 35, attention_window_ms: 2000 });
  const end = collector();
  const pipeline = new Pipeline([new AttentionStage(gate, log), end], () => t.fail('no stage fails'));
  pipeline.push(utterance(800, 'commands'));
  pipeline.push(utterance(800, 'wake'));
  await pipeline.idle();
  t.same(end.got.map((f) => f.type === 'utterance' && f.reach), ['wake'], 'muted, nobody in view: dropped; asleep: passed');
});

t.test('attention gate: hears from below that the robot talks, which opens it for a person in view', async (t) => {
  const { log } = capturingLogger();
  let now = 10_000;
  const gate = new AttentionGate({ attention_max_yaw_deg: 35, attention_window_ms: 2000 }, () => now);
  const end = collector();
  const pipeline = new Pipeline([new AttentionStage(gate, log), end], () => t.fail('no stage fails'));
  // In view but turned away: not facing.
  const landmarks = { rightEye: { x: 70, y: 100 }, leftEye: { x: 130, y: 100 }, nose: { x: 150, y: 130 }, mouth: { x: 100, y: 150 }, rightEar: { x: 50, y: 110 }, leftEar: { x: 150, y: 110 } };
  gate.frame(visionFrame([attendedFace({ landmarks })]));
  now += 10;
  pipeline.push(utterance(500));
  await pipeline.idle();
  t.same(end.got, [], 'turned away, the robot silent: dropped');
  pipeline.pushUp({ type: 'robot-speaking', speaking: true, at: now });
  pipeline.push(utterance(500));
  await pipeline.idle();
  t.same(kinds(end.got), ['utterance'], 'turned away while the robot talks to them: passed');
});

/** A speech-to-text stand-in whose answers the test releases one by one. */
function scriptedTranscriber() {
  const calls: { resolve(text: string): void; reject(err: Error): void; signal: AbortSignal }[] = [];
  const transcriber = {
    transcribe: (_pcm: Buffer, _rate: number, signal: AbortSignal) => new Promise<string>((resolve, reject) => calls.push({ resolve, reject, signal })),
  } as unknown as Transcriber;
  return { transcriber, calls };
}

t.test('recogniser: offline, an utterance is passed on and then not understood', async (t) => {
  const { log } = capturingLogger();
  const end = collector();
  const pipeline = new Pipeline([new RecogniserStage(undefined, RATE, log), end], () => t.fail('no stage fails'));
  pipeline.push({ type: 'speech-started', atMs: 0 });
  pipeline.push(utterance());
  await pipeline.idle();
  t.same(kinds(end.got), ['speech-started', 'utterance', 'not-understood']);
});

t.test('recogniser: a failed transcription is logged by its status, never by the text the service sent', async (t) => {
  const cloud = await startFakeCloud({ sttStatus: 413, errorMessage: `too long: ${'what the person said '.repeat(5000)}` });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl } }).voice;
  const { log, messages } = capturingLogger();
  const end = collector();
  const pipeline = new Pipeline([new RecogniserStage(new Transcriber(voice, 'sk-test'), RATE, log), end], () => t.fail('no stage fails'));
  pipeline.push(utterance());
  await waitFor(() => end.got.some((f) => f.type === 'not-understood'), 'the failure', 10_000);
  const warning = messages().find((m) => /speech-to-text failed/.test(m)) ?? '';
  t.match(warning, /speech-to-text failed: HTTP 413 \(APIError invalid_request_error\)/);
  t.notMatch(warning, /person said|too long/);
});

t.test('recogniser: the transcript follows its utterance; a newer utterance or a cancel abandons the one in flight', async (t) => {
  const { log, messages } = capturingLogger();
  const { transcriber, calls } = scriptedTranscriber();
  const end = collector();
  const stage = new RecogniserStage(transcriber, RATE, log);
  const pipeline = new Pipeline([stage, end], () => t.fail('no stage fails'));
  pipeline.push(utterance());
  await pipeline.idle();
  t.same(kinds(end.got), ['utterance'], 'passed on at once: the person has the turn');
  calls[0]!.resolve('hello robot');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(end.got.at(-1), { type: 'transcript', text: 'hello robot' });

  pipeline.push(utterance());
  pipeline.push(utterance());
  await pipeline.idle();
  t.ok(calls[1]!.signal.aborted && !calls[2]!.signal.aborted, 'the second utterance abandoned the first one\'s speech-to-text');
  calls[1]!.resolve('too late');
  calls[2]!.resolve('what time is it');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(end.got.filter((f) => f.type === 'transcript').map((f) => (f as { text: string }).text), ['hello robot', 'what time is it'], 'an abandoned transcript is not pushed');

  pipeline.push(utterance());
  await pipeline.idle();
  pipeline.pushUp({ type: 'cancel' });
  t.ok(calls[3]!.signal.aborted, 'a cancel from below abandons it');
  calls[3]!.reject(new Error('aborted'));
  pipeline.push(utterance());
  await pipeline.idle();
  calls[4]!.reject(new Error('HTTP 500'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(end.got.at(-1), { type: 'not-understood', because: 'speech-to-text failed' }, 'a failure: not understood');
  t.equal(messages().filter((m) => /speech-to-text failed/.test(m)).length, 1, 'logged once: the abandoned one is not a failure');
  pipeline.push(utterance());
  await pipeline.idle();
  const stopped = stage.stop();
  t.ok(calls[5]!.signal.aborted, 'stopping abandons the one in flight');
  calls[5]!.reject(new Error('aborted'));
  await stopped;
  t.equal(end.got.at(-1)!.type, 'utterance', 'and pushes nothing for it');
});

t.test('recogniser: a transcriber that throws at once still ends in not-understood', async (t) => {
  const { log } = capturingLogger();
  const throwing = { transcribe: () => { throw new Error('no audio device'); } } as unknown as Transcriber;
  const end = collector();
  const pipeline = new Pipeline([new RecogniserStage(throwing, RATE, log), end], () => t.fail('no stage fails'));
  pipeline.push(utterance());
  await pipeline.idle();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(kinds(end.got), ['utterance', 'not-understood'], 'the responder is never left waiting for words');
});

t.test('speech detector: stopping waits for the audio in hand and releases the detector once', async (t) => {
  const detector = loudnessDetector();
  let releases = 0;
  detector.release = async () => void releases++;
  const end = collector();
  const pipeline = new Pipeline([new DetectorStage(new VoiceActivityDetector(settings, detector), detector, 3), end], () => t.fail('no stage fails'));
  pipeline.push(audio(true, 10, 0));
  pipeline.push(audio(false, 10, 1));
  await pipeline.stop();
  t.same(kinds(end.got), ['speech-started', 'utterance'], 'what was captured before the stop was judged');
  t.equal(releases, 1);
});

t.test('command recogniser: a command goes on as a command and no further; other words go on only where they may be answered', async (t) => {
  const { log, messages } = capturingLogger();
  const recognizer = CommandRecognizer.create(['rest', 'sleep', 'nod']);
  const end = collector();
  const pipeline = new Pipeline([new CommandStage(recognizer, log), end], () => t.fail('no stage fails'));
  t.teardown(() => pipeline.stop());
  const spoken = async (text: string, reach: Reach): Promise<ListeningFrame> => ({ ...utterance(1500, reach), pcm: await spokenInNoise(text, VOICES[0]!, QUIET_ROOM) });
  for (const [text, reach] of [
    ['Robot, go to sleep.', 'reply'],
    ['The weather is nice today.', 'reply'],
    ['The weather is nice today.', 'commands'],
    ['Robot, nod.', 'commands'],
    ['Robot, go to sleep.', 'wake'],
    ['Robot, wake up.', 'wake'],
  ] as const) {
    pipeline.push(await spoken(text, reach));
  }
  await pipeline.idle();
  t.same(end.got.map((f) => (f.type === 'command' ? f.command.name : f.type === 'utterance' ? `words (${f.reach})` : f.type)), ['sleep', 'words (reply)', 'pose:nod', 'wake-up']);
  t.match(end.got[0], { type: 'command', text: 'robot go to sleep', startMs: 0, endMs: 1500 });
  t.equal(messages().filter((m) => /utterance dropped on the robot/.test(m)).length, 2, 'the muted robot\'s talk and the sleeping robot\'s other command, each logged');
});

t.test('command recogniser: when the decoder fails the robot still listens for words, and says so once', async (t) => {
  const { log, messages } = capturingLogger();
  const broken = { recognise: () => Promise.reject(new Error('decoder crashed')), release: () => {} } as unknown as CommandRecognizer;
  const end = collector();
  const pipeline = new Pipeline([new CommandStage(broken, log), end], () => t.fail('no stage fails'));
  for (const reach of ['reply', 'commands', 'reply'] as const) pipeline.push(utterance(800, reach));
  await pipeline.idle();
  t.same(end.got.map((f) => f.type === 'utterance' && f.reach), ['reply', 'reply'], 'words go on where they may be answered; a muted robot drops them');
  t.equal(messages().filter((m) => /spoken commands failed \(decoder crashed\)/.test(m)).length, 1);
});

/** A recogniser whose `spot` hears a command in the audio so far once there are `commandAt` bytes of it, each look held until `release` when `held`. */
function scriptedSpotter(command: SpokenCommand, commandAt: number, held = false) {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  const recognizer = {
    spot: async (pcm: Buffer, decoded: DecodedPiece[]) => {
      calls.push(`spot ${pcm.length}`);
      if (held) await new Promise<void>((resolve) => waiting.push(resolve));
      // As the real one: each piece decoded once, so the command comes back only the first time.
      const heard = pcm.length >= commandAt && !decoded.some((piece) => piece.heard.command) ? { text: `robot ${command.name}`, command } : { text: '' };
      if (!decoded.length || heard.command) decoded.push({ span: [0, pcm.length / 2], heard });
      return heard.command ? heard : undefined;
    },
    recognise: async (pcm: Buffer, earlier: DecodedPiece[] = []) => {
      calls.push(`recognise ${pcm.length}, ${earlier.length} decoded before`);
      return earlier.find((piece) => piece.heard.command)?.heard ?? { text: '' };
    },
    release: () => {},
  } as unknown as CommandRecognizer;
  return { recognizer, calls, release: () => waiting.splice(0).forEach((go) => go()) };
}
const sleepCommand: SpokenCommand = { name: 'sleep', phrases: ['sleep'], byName: true, action: { kind: 'control', request: { mode: 'sleep' } } };
const wakeCommand: SpokenCommand = { name: 'wake', phrases: ['wake up'], byName: true, action: { kind: 'control', request: { mode: 'active' } } };
const described = (frames: ListeningFrame[]) => frames.map((f) => (f.type === 'command' ? `${f.command.name} ${f.startMs}-${f.endMs}` : f.type));

t.test('command recogniser: a command heard while the utterance goes on acts at once, and the utterance ends as that command', async (t) => {
  const { log } = capturingLogger();
  const { recognizer, calls } = scriptedSpotter(sleepCommand, 9600);
  const end = collector();
  const pipeline = new Pipeline([new CommandStage(recognizer, log), end], () => t.fail('no stage fails'));
  for (const bytes of [3200, 6400, 9600, 12_800]) {
    pipeline.push(soFar(bytes, 0));
    await pipeline.idle();
    await new Promise((resolve) => setImmediate(resolve));
  }
  pipeline.push({ ...utterance(500), pcm: Buffer.alloc(16_000), startMs: 0 });
  // Another utterance with no command in it, then one the sleeping robot may not take.
  pipeline.push(soFar(3200, 1000));
  pipeline.push({ ...utterance(300), pcm: Buffer.alloc(9600), startMs: 1000, endMs: 1300 });
  pipeline.push(soFar(9600, 2000, 'wake'));
  pipeline.push({ ...utterance(300, 'wake'), pcm: Buffer.alloc(9600), startMs: 2000, endMs: 2300 });
  await pipeline.idle();
  t.same(described(end.got), ['sleep 0-300', 'utterance'], 'the command where it was heard; the other utterance as words; nothing asleep');
  t.same(calls, ['spot 3200', 'spot 6400', 'spot 9600', 'spot 3200', 'recognise 9600, 1 decoded before', 'spot 9600', 'recognise 9600, 1 decoded before'], 'nothing more once the command acted; what was decoded is handed on, per utterance');
});

t.test('command recogniser: a slow look holds up neither barge-in nor a queue of older looks', async (t) => {
  const { log } = capturingLogger();
  const { recognizer, calls, release } = scriptedSpotter(sleepCommand, 1e9, true);
  const end = collector();
  const pipeline = new Pipeline([new CommandStage(recognizer, log), end], () => t.fail('no stage fails'));
  for (const bytes of [3200, 6400, 9600, 12_800]) pipeline.push(soFar(bytes, 0));
  pipeline.push({ type: 'speech-started', atMs: 400 });
  await pipeline.idle();
  t.same(kinds(end.got), ['speech-started'], 'passed on while the first look is still decoding');
  release();
  await new Promise((resolve) => setImmediate(resolve));
  release();
  pipeline.push({ ...utterance(500), pcm: Buffer.alloc(16_000), startMs: 0 });
  await new Promise((resolve) => setImmediate(resolve));
  release();
  await pipeline.idle();
  t.same(calls, ['spot 3200', 'spot 12800', 'recognise 16000, 1 decoded before'], 'after the first, only the newest audio so far; the utterance waits for the look in hand');
  t.same(kinds(end.got), ['speech-started', 'utterance']);
});

t.test('command recogniser: a command the sleeping robot heard but did not take acts once it is woken, while the utterance goes on or at its end', async (t) => {
  for (const woken of ['while it goes on', 'at its end'] as const) {
    const { log } = capturingLogger();
    const { recognizer } = scriptedSpotter(sleepCommand, 6400);
    const end = collector();
    const pipeline = new Pipeline([new CommandStage(recognizer, log), end], () => t.fail('no stage fails'));
    const look = async (bytes: number, reach: Reach) => {
      pipeline.push(soFar(bytes, 0, reach));
      await pipeline.idle();
      await new Promise((resolve) => setImmediate(resolve));
    };
    await look(3200, 'wake');
    await look(6400, 'wake');
    t.same(end.got, [], `${woken}: asleep, "sleep" is not taken`);
    if (woken === 'while it goes on') await look(9600, 'reply');
    pipeline.push({ ...utterance(700, 'reply'), pcm: Buffer.alloc(12_800), startMs: 0 });
    await pipeline.idle();
    t.same(described(end.got), [woken === 'while it goes on' ? 'sleep 0-300' : 'sleep 0-700'], `${woken}: awake, it acts`);
  }
  const { log } = capturingLogger();
  const { recognizer } = scriptedSpotter(wakeCommand, 6400);
  const end = collector();
  const pipeline = new Pipeline([new CommandStage(recognizer, log), end], () => t.fail('no stage fails'));
  pipeline.push(soFar(6400, 0, 'wake'));
  await pipeline.idle();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(described(end.got), ['wake 0-200'], 'asleep, "wake up" acts while the utterance goes on');
});

t.test('command recogniser: a look at an utterance dropped above (attention) acts no more once another begins, and stopping waits for it', async (t) => {
  const { log } = capturingLogger();
  const { recognizer, calls, release } = scriptedSpotter(sleepCommand, 6400, true);
  const end = collector();
  const pipeline = new Pipeline([new CommandStage(recognizer, log), end], () => t.fail('no stage fails'));
  pipeline.push(soFar(6400, 0));
  await pipeline.idle();
  await new Promise((resolve) => setImmediate(resolve));
  // Its end never comes (a gate dropped it); the next utterance's audio so far does.
  pipeline.push(soFar(3200, 5000));
  await pipeline.idle();
  await new Promise((resolve) => setImmediate(resolve));
  let stopped = false;
  const stopping = pipeline.stop().then(() => (stopped = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(stopped, 'stopping waits for the looks still running');
  release();
  await stopping;
  t.same(calls, ['spot 6400', 'spot 3200']);
  t.same(end.got, [], 'the old look heard "sleep", and did not act on it');
});
