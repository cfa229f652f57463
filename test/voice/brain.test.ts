import fc from 'fast-check';
import OpenAI from 'openai';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { ChatBrain, ReplyError, TimeoutError } from '../../src/voice/brain.js';
import { startFakeCloud } from '../../src/dev/fake-cloud.js';

const collect = async (stream: AsyncIterable<string>) => {
  let text = '';
  for await (const piece of stream) text += piece;
  return text;
};

t.test('streams the reply, and keeps a bounded memory of the exchanges it is told happened', async (t) => {
  const cloud = await startFakeCloud({ reply: 'Nice to meet you.' });
  t.teardown(cloud.close);
  const config = configSchema.parse({ voice: { openai_base_url: cloud.openaiBaseUrl, llm: { memory_turns: 2, model: 'llama3.2' } } }).voice;
  const brain = new ChatBrain(config, 'sk');
  await collect(brain.reply({ userText: 'zero?', recentEmotions: [] }, new AbortController().signal));
  t.equal(brain.messages({ userText: 'one?', recentEmotions: [] }).length, 2, 'a reply written is not remembered: one said is (speaking.ts tells it)');
  for (const question of ['one?', 'two?', 'three?']) {
    t.equal(await collect(brain.reply({ userText: question, recentEmotions: [] }, new AbortController().signal)), 'Nice to meet you.');
    brain.remember(question, 'Nice to meet you.');
  }
  const messages = brain.messages({ userText: 'four?', recentEmotions: [] });
  t.same(messages.map((m) => [m.role, m.content]).slice(1), [
    ['user', 'two?'], ['assistant', 'Nice to meet you.'],
    ['user', 'three?'], ['assistant', 'Nice to meet you.'],
    ['user', 'four?'],
  ], 'the last two exchanges, then the new question');
  t.match(messages[0]!.content, /Nobody is in view right now\./);
  t.match(JSON.parse(cloud.requests.at(-1)!.body), { model: 'llama3.2' }, 'any model name the endpoint serves');
});

t.test('a late first token is a TimeoutError; an abort ends the stream', async (t) => {
  const cloud = await startFakeCloud({ llmHang: true });
  t.teardown(cloud.close);
  const config = configSchema.parse({ voice: { openai_base_url: cloud.openaiBaseUrl, llm: { timeout_ms: 500 } } }).voice;
  const brain = new ChatBrain(config, 'sk');
  await t.rejects(collect(brain.reply({ recentEmotions: [] }, new AbortController().signal)), { name: 'TimeoutError', message: /no answer within 500 ms/ });
  cloud.options.llmHang = false;
  cloud.options.llmTokenGapMs = 100;
  cloud.options.reply = 'a'.repeat(200);
  const controller = new AbortController();
  const pieces: string[] = [];
  const reading = (async () => {
    for await (const piece of brain.reply({ recentEmotions: [] }, controller.signal)) {
      pieces.push(piece);
      if (pieces.length === 2) controller.abort();
    }
  })();
  await reading;
  t.equal(pieces.length, 2, 'the stream ended right after the abort');
});

t.test('fuzz: any chat stream body gives text or a typed error, never a hang or another throw', async (t) => {
  const cloud = await startFakeCloud();
  t.teardown(cloud.close);
  const config = configSchema.parse({ voice: { openai_base_url: cloud.openaiBaseUrl, llm: { timeout_ms: 1000 } } }).voice;
  const brain = new ChatBrain(config, 'sk');
  const chunk = (delta: unknown, choices?: unknown) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: choices ?? [{ index: 0, delta, finish_reason: null }] })}\n\n`;
  const event = fc.oneof(
    fc.string().map((content) => chunk({ content })),
    fc.jsonValue().map((content) => chunk({ content })),
    fc.jsonValue().map((choices) => chunk(undefined, choices)),
    fc.jsonValue().map((v) => `data: ${JSON.stringify(v)}\n\n`),
    fc.string().map((s) => `data: ${s}\n\n`),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('data: [DONE]\n\n', ': keep-alive\n\n', 'event: error\ndata: {"error":{"message":"boom"}}\n\n', '\n\n', 'data: {"choices": [{"delta": \n\n', 'retry: 10\n'),
  );
  const bodies = fc.array(event, { maxLength: 8 }).chain((events) => fc.constant(events.join('')).chain((text) => fc.array(fc.nat(text.length), { maxLength: 4 }).map((cuts) => split(text, cuts))));
  const outcomes = { text: 0, nothing: 0, typedError: 0 };
  await fc.assert(
    fc.asyncProperty(bodies, async (pieces) => {
      cloud.options.sseBody = pieces;
      try {
        let text = '';
        for await (const piece of brain.reply({ userText: 'hi', recentEmotions: [] }, new AbortController().signal)) {
          if (typeof piece !== 'string' || piece.length === 0) throw new Error(`yielded ${JSON.stringify(piece)}`);
          text += piece;
        }
        if (text) outcomes.text++;
        else outcomes.nothing++;
      } catch (err) {
        if (!(err instanceof ReplyError || err instanceof TimeoutError || err instanceof OpenAI.APIError)) throw err;
        outcomes.typedError++;
      }
    }),
    { numRuns: 150, seed: 2013 },
  );
  t.ok(outcomes.text > 0 && outcomes.nothing > 0 && outcomes.typedError > 0, `${outcomes.text} streams gave text, ${outcomes.nothing} none, ${outcomes.typedError} a typed error`);
});

/** The text cut at the given offsets: TCP may deliver a stream in any pieces. */
function split(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts)].sort((a, b) => a - b);
  return [...at, text.length].map((end, i) => text.slice(i === 0 ? 0 : at[i - 1], end));
}
