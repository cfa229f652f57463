import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { SilentSink } from '../../src/voice/audio-out.js';
import { ChatBrain } from '../../src/voice/brain.js';
import { Pipeline } from '../../src/voice/frames.js';
import { BrainStage, SentenceStage, SpeakerStage, SynthesizerStage, type SpeakingFrame, type SpeakingStage, type SpeakingUpFrame, type Turn } from '../../src/voice/speaking.js';
import type { Synthesizer } from '../../src/voice/synthesizer.js';
import { startFakeCloud, type FakeCloudOptions } from '../../src/dev/fake-cloud.js';
import { collector as collectorOf } from '../helpers/stages.js';
import { capturingLogger } from '../helpers/log.js';

const config = configSchema.parse({}).voice;
const RATE = 16_000;
const collector = () => collectorOf<SpeakingFrame, SpeakingUpFrame>();

function turnOf(offline: Turn['offline'] = { phrase: 'reply' }): Turn & { cancel: () => void } {
  const controller = new AbortController();
  return { signal: controller.signal, offline, cancel: () => controller.abort() };
}

/** A pipeline of the stages under test, with what reaches its end and what comes out of its top. */
function pipelineOf(stages: ConstructorParameters<typeof Pipeline<SpeakingFrame, SpeakingUpFrame>>[0]) {
  const end = collector();
  const up: SpeakingUpFrame[] = [];
  const errors: string[] = [];
  const pipeline = new Pipeline<SpeakingFrame, SpeakingUpFrame>([...stages, end], (stage, err) => errors.push(`${stage}: ${(err as Error).message}`), (frame) => up.push(frame));
  return { pipeline, end, up, errors };
}

/** A voice that makes 20 ms of audio per word, and fails on the sentence it is told to. */
function wordVoice(name: string, failOn?: string): Synthesizer & { asked: string[] } {
  const asked: string[] = [];
  return {
    name,
    sampleRate: RATE,
    asked,
    async *synthesize(text) {
      asked.push(text);
      if (text === failOn) throw new Error(`${name} is down`);
      for (const _ of text.split(' ')) yield Buffer.alloc((RATE / 50) * 2, 1);
    },
  };
}

/** The cloud as the synthesiser sees it: only its voice is used there. */
const cloudVoice = (synthesizer: Synthesizer) => ({ brain: new ChatBrain(config, 'sk-unused'), synthesizer });

const said = (frames: SpeakingFrame[]) => frames.flatMap((f) => (f.type === 'said' ? [`${f.source}: ${f.text}`] : []));

t.test('sentence splitter: streamed text becomes sentences as each completes; the rest at the end of the turn', async (t) => {
  const { pipeline, end } = pipelineOf([new SentenceStage()]);
  const turn = turnOf();
  for (const text of ['Hello the', 're. How are', ' you? Fine']) pipeline.push({ type: 'text', turn, text });
  await pipeline.idle();
  t.same(end.got.map((f) => f.type === 'sentence' && f.text), ['Hello there.', 'How are you?'], 'only the complete sentences so far');
  pipeline.push({ type: 'turn-end', turn });
  await pipeline.idle();
  t.same(end.got.map((f) => (f.type === 'sentence' ? f.text : f.type)), ['Hello there.', 'How are you?', 'Fine', 'turn-end']);
});

t.test('sentence splitter: half a sentence of a reply that broke off is not said, in that turn or the next', async (t) => {
  const { pipeline, end } = pipelineOf([new SentenceStage()]);
  const broken = turnOf();
  pipeline.push({ type: 'text', turn: broken, text: 'This sentence never' });
  pipeline.push({ type: 'brain-failed', turn: broken });
  pipeline.push({ type: 'turn-end', turn: broken });
  const next = turnOf();
  pipeline.push({ type: 'text', turn: next, text: 'Hi.' });
  pipeline.push({ type: 'turn-end', turn: next });
  await pipeline.idle();
  t.same(end.got.map((f) => (f.type === 'sentence' ? f.text : f.type)), ['brain-failed', 'turn-end', 'Hi.', 'turn-end']);
});

t.test('synthesiser: a cloud voice failing before anything was heard: the offline voice answers, the failure goes up, the rest of the turn is dropped', async (t) => {
  const cloud = wordVoice('cloud', 'First one.');
  const offline = wordVoice('offline');
  const { pipeline, end, up } = pipelineOf([new SynthesizerStage(config, offline, cloudVoice(cloud))]);
  const turn = turnOf({ phrase: 'reply' });
  for (const text of ['First one.', 'Second one.']) pipeline.push({ type: 'sentence', turn, text });
  pipeline.push({ type: 'turn-end', turn });
  await pipeline.idle();
  t.same(said(end.got), [`offline: ${config.offline.phrases.reply[0]}`]);
  t.same(cloud.asked, ['First one.'], 'the cloud voice is not asked again in that turn');
  t.same(up.map((f) => f.type), ['cloud-failed'], 'the failure went up; no cloud-spoke');
  t.match(up[0], { type: 'cloud-failed', turn, error: { message: 'cloud is down' } });
});

t.test('synthesiser: a cloud voice failing after the person heard a sentence ends the turn there, without a stock phrase', async (t) => {
  const cloud = wordVoice('cloud', 'Second one.');
  const offline = wordVoice('offline');
  const { pipeline, end, up } = pipelineOf([new SynthesizerStage(config, offline, cloudVoice(cloud))]);
  const turn = turnOf();
  for (const text of ['First one.', 'Second one.', 'Third one.']) pipeline.push({ type: 'sentence', turn, text });
  pipeline.push({ type: 'turn-end', turn });
  // The next offline turn gets the first phrase: the broken turn did not use one up.
  const next = turnOf({ phrase: 'reply' });
  pipeline.push({ type: 'offline', turn: next });
  await pipeline.idle();
  t.same(said(end.got), ['cloud: First one.', `offline: ${config.offline.phrases.reply[0]}`]);
  t.same(offline.asked, [config.offline.phrases.reply[0]]);
  t.same(up.map((f) => f.type), ['cloud-failed']);
});

t.test('synthesiser: a whole turn in the cloud voice is reported up as spoken; offline phrases rotate', async (t) => {
  const cloud = wordVoice('cloud');
  const offline = wordVoice('offline');
  const twoPhrases = configSchema.parse({ voice: { offline: { phrases: { sad: ['One sad.', 'Two sad.'] } } } }).voice;
  const { pipeline, end, up } = pipelineOf([new SynthesizerStage(twoPhrases, offline, cloudVoice(cloud))]);
  const turn = turnOf();
  pipeline.push({ type: 'sentence', turn, text: 'All is fine.' });
  pipeline.push({ type: 'turn-end', turn });
  for (let i = 0; i < 3; i++) pipeline.push({ type: 'offline', turn: turnOf({ phrase: 'sad' }) });
  pipeline.push({ type: 'offline', turn: turnOf({ text: 'Exactly this.' }) });
  await pipeline.idle();
  t.same(up, [{ type: 'cloud-spoke' }]);
  t.same(said(end.got), ['cloud: All is fine.', 'offline: One sad.', 'offline: Two sad.', 'offline: One sad.', 'offline: Exactly this.']);
  t.equal(end.got.filter((f) => f.type === 'audio').length, 3 + 2 * 3 + 2, 'one chunk per word, all of it passed on');
});

t.test('speaker: sound starts with the first audio and ends when the turn has played; what was said is reported after its audio', async (t) => {
  const { pipeline, up, end } = pipelineOf([new SpeakerStage(new SilentSink('test'))]);
  const turn = turnOf();
  const started = performance.now();
  for (let i = 0; i < 10; i++) pipeline.push({ type: 'audio', turn, pcm: Buffer.alloc((RATE / 50) * 2), sampleRate: RATE });
  pipeline.push({ type: 'said', turn, text: 'Ten pieces.', source: 'cloud' });
  pipeline.push({ type: 'turn-end', turn });
  await pipeline.idle();
  t.same(up.map((f) => f.type), ['speaking', 'said', 'speaking', 'turn-ended']);
  t.match(up, [{ speaking: true }, { text: 'Ten pieces.', source: 'cloud' }, { speaking: false, stillQueuedMs: 0 }, { turn }]);
  t.ok(performance.now() - started >= 190, `the turn ended once its 200 ms had played (${Math.round(performance.now() - started)} ms)`);
  t.same(end.got, [], 'the speaker is the end of the path');
});

t.test('speaker: a cancelled turn is cut off at once, even between two pieces of audio, and the rest of it is dropped', async (t) => {
  const { pipeline, up } = pipelineOf([new SpeakerStage(new SilentSink('test'))]);
  const turn = turnOf();
  pipeline.push({ type: 'audio', turn, pcm: Buffer.alloc((RATE / 5) * 2), sampleRate: RATE });
  await pipeline.idle();
  t.same(up.map((f) => f.type), ['speaking'], 'playing; the next audio has not come yet');
  turn.cancel();
  await new Promise(setImmediate);
  t.match(up.at(-1), { type: 'speaking', speaking: false }, 'silent at once, without waiting for more frames');
  t.ok((up.at(-1) as { stillQueuedMs: number }).stillQueuedMs > 0, 'and what the device still had is reported');
  pipeline.push({ type: 'audio', turn, pcm: Buffer.alloc(640), sampleRate: RATE });
  pipeline.push({ type: 'said', turn, text: 'Cut off.', source: 'cloud' });
  pipeline.push({ type: 'turn-end', turn });
  await pipeline.idle();
  t.same(up.map((f) => f.type), ['speaking', 'speaking', 'turn-ended'], 'no sound again, nothing said; the turn still ends');
});

t.test('brain: a cloud voice failure coming up stops the language model writing that reply, and the breaker counts it', async (t) => {
  const cloud = await startFakeCloud({ reply: 'word '.repeat(200), llmTokenGapMs: 20 });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, circuit_breaker: { failures: 2 } } }).voice;
  const { log, messages } = capturingLogger();
  const failing: SpeakingStage = {
    name: 'failing voice',
    down: (frame, push, pushUp) => {
      if (frame.type === 'text') pushUp({ type: 'cloud-failed', turn: frame.turn, error: new Error('voice is down') });
      else push(frame);
    },
  };
  const { pipeline, end } = pipelineOf([new BrainStage(voice, { brain: new ChatBrain(voice, 'sk-test'), synthesizer: wordVoice('unused') }, log), failing]);
  const first = turnOf();
  pipeline.push({ type: 'reply', turn: first, request: { userText: 'Hello?', recentEmotions: [] } });
  await pipeline.idle();
  t.same(end.got.map((f) => f.type), ['turn-end'], 'the turn ended, without brain-failed: the voice reported its own failure');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(cloud.requests.find((q) => q.path === 'POST /v1/chat/completions')?.abandoned, true, 'the robot gave up the reply stream on the wire');
  t.match(messages().join('\n'), /cloud voice failed: Error/, 'by its kind: an error from below may quote the service');

  pipeline.push({ type: 'say', turn: turnOf({ text: 'Once more.' }), text: 'Once more.' });
  await pipeline.idle();
  t.match(end.got.at(-2), { type: 'sentence', text: 'Once more.' }, 'one failure: the cloud is still asked');
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText: 'Hello?', recentEmotions: [] } });
  await pipeline.idle();
  t.match(messages().join('\n'), /offline only for 60000 ms/, 'the second failure opened the breaker');
  const requests = cloud.requests.length;
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText: 'Hello?', recentEmotions: [] } });
  await pipeline.idle();
  t.same(end.got.slice(-2).map((f) => f.type), ['offline', 'turn-end'], 'breaker open: the offline voice answers');
  t.equal(cloud.requests.length, requests, 'and the language model is not asked');
});

t.test('brain: a failed reply stream goes down as brain-failed; a cancelled one ends quietly; every turn ends', async (t) => {
  const cloud = await startFakeCloud({ llmStatus: 500 });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl } }).voice;
  const { log } = capturingLogger();
  const { pipeline, end } = pipelineOf([new BrainStage(voice, { brain: new ChatBrain(voice, 'sk-test'), synthesizer: wordVoice('unused') }, log)]);
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText: 'Hello?', recentEmotions: [] } });
  const cancelled = turnOf();
  cancelled.cancel();
  pipeline.push({ type: 'reply', turn: cancelled, request: { userText: 'Hello?', recentEmotions: [] } });
  pipeline.push({ type: 'offline', turn: turnOf() });
  await pipeline.idle();
  t.same(end.got.map((f) => f.type), ['brain-failed', 'turn-end', 'turn-end', 'offline', 'turn-end']);
});

t.test('brain: a reply longer than max_tokens allows is cut there and the stream given up', async (t) => {
  const cloud = await startFakeCloud({ reply: 'word '.repeat(5000), llmTokenGapMs: 1 });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, llm: { max_tokens: 16 } } }).voice;
  const { log, messages } = capturingLogger();
  const { pipeline, end } = pipelineOf([new BrainStage(voice, { brain: new ChatBrain(voice, 'sk-test'), synthesizer: wordVoice('unused') }, log)]);
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText: 'Talk for ever', recentEmotions: [] } });
  await pipeline.idle();
  const written = end.got.flatMap((f) => (f.type === 'text' ? [f.text] : [])).join('');
  t.equal(written.length, 16 * 8, '8 characters a token');
  t.equal(end.got.at(-1)?.type, 'turn-end');
  t.match(messages().join('\n'), /wrote past voice\.llm\.max_tokens \(16\)/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(cloud.requests.find((q) => q.path === 'POST /v1/chat/completions')?.abandoned, true, 'the rest is not read');
});

/** The brain's warning when a reply to `userText` fails against a fake cloud with these options. */
async function failureWarning(t: { teardown(fn: () => unknown): void }, options: FakeCloudOptions, userText: string): Promise<string> {
  const cloud = await startFakeCloud(options);
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl } }).voice;
  const { log, messages } = capturingLogger();
  const { pipeline } = pipelineOf([new BrainStage(voice, { brain: new ChatBrain(voice, 'sk-test'), synthesizer: wordVoice('unused') }, log)]);
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText, recentEmotions: [] } });
  await pipeline.idle();
  return messages().find((m) => /cloud voice failed/.test(m)) ?? '';
}

t.test('brain: a failed call is logged by its status, never by the text the service sent', async (t) => {
  // A service that echoes what it was sent: the person's words would reach MQTT's log topic.
  const warning = await failureWarning(t, { llmStatus: 400, errorMessage: `bad request: ${'Hello? I feel sad today. '.repeat(8000)}` }, 'Hello? I feel sad today.');
  t.match(warning, /cloud voice failed: HTTP 400 \(BadRequestError server_error\)/);
  t.notMatch(warning, /sad|bad request/);
  t.ok(warning.length < 300, `${warning.length} characters`);
});

t.test('brain: an error inside a stream that began 200 OK, or a stream that is not JSON, is not quoted either', async (t) => {
  for (const [sseBody, expected] of [
    [['data: {"error":{"message":"echo: I feel so sad today","type":"invalid_request_error"}}\n\n'], /cloud voice failed: APIError invalid_request_error$/],
    [['data: I feel so sad today\n\n'], /cloud voice failed: .*malformed reply stream \(not JSON\)$/],
  ] as const) {
    const warning = await failureWarning(t, { sseBody: [...sseBody] }, 'I feel so sad today');
    t.match(warning, expected);
    t.notMatch(warning, /sad/);
  }
});

t.test('brain: the language model and the cloud voice failing in one turn count as one failure', async (t) => {
  const cloud = await startFakeCloud({ llmStatus: 500 });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, circuit_breaker: { failures: 2 } } }).voice;
  const { log, messages } = capturingLogger();
  // Below the brain: the voice fails too, on the turn the brain just failed.
  const failingToo: SpeakingStage = {
    name: 'failing voice',
    down: (frame, push, pushUp) => {
      if (frame.type === 'brain-failed') pushUp({ type: 'cloud-failed', turn: frame.turn, error: new Error('voice is down too') });
      push(frame);
    },
  };
  const { pipeline, end } = pipelineOf([new BrainStage(voice, { brain: new ChatBrain(voice, 'sk-test'), synthesizer: wordVoice('unused') }, log), failingToo]);
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText: 'Hello?', recentEmotions: [] } });
  await pipeline.idle();
  t.equal(messages().filter((m) => /cloud voice failed/.test(m)).length, 1, 'one warning');
  pipeline.push({ type: 'say', turn: turnOf({ text: 'Still there?' }), text: 'Still there?' });
  await pipeline.idle();
  t.match(end.got.at(-2), { type: 'sentence' }, 'one failure of two: the breaker is still closed');
});

t.test('brain: the language model is told what of its reply was said, not what it wrote', async (t) => {
  const cloud = await startFakeCloud({ reply: 'First part. Second part. Third part.' });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl } }).voice;
  const { log } = capturingLogger();
  const brain = new ChatBrain(voice, 'sk-test');
  const speaker: SpeakingStage = {
    name: 'speaker saying one sentence',
    down: (frame, _push, pushUp) => {
      if (frame.type === 'turn-end') {
        // The person talked over the robot after its first sentence.
        pushUp({ type: 'said', turn: frame.turn, text: 'First part.', source: 'cloud' });
        pushUp({ type: 'turn-ended', turn: frame.turn });
      }
    },
  };
  const { pipeline } = pipelineOf([new BrainStage(voice, { brain, synthesizer: wordVoice('unused') }, log), new SentenceStage(), speaker]);
  pipeline.push({ type: 'reply', turn: turnOf(), request: { userText: 'Tell me three things.', recentEmotions: [] } });
  await pipeline.idle();
  const history = brain.messages({ userText: 'And then?', recentEmotions: [] }).slice(1).map((m) => [m.role, m.content]);
  t.same(history, [['user', 'Tell me three things.'], ['assistant', 'First part.'], ['user', 'And then?']]);
});

t.test('speaker: a device that cannot be opened fails the turn once, not once per piece of audio', async (t) => {
  const broken = { description: 'broken', open: () => { throw new Error('no such device'); } };
  const { pipeline, up, errors } = pipelineOf([new SpeakerStage(broken)]);
  const turn = turnOf();
  for (let i = 0; i < 5; i++) pipeline.push({ type: 'audio', turn, pcm: Buffer.alloc(640), sampleRate: RATE });
  pipeline.push({ type: 'turn-end', turn });
  await pipeline.idle();
  t.same(errors, ['speaker: no such device']);
  t.same(up.map((f) => f.type), ['turn-ended'], 'no sound reported; the turn still ends');
});
