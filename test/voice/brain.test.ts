import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { ChatBrain } from '../../src/voice/brain.js';
import { startFakeCloud } from '../../src/voice/fake-cloud.js';

const collect = async (stream: AsyncIterable<string>) => {
  let text = '';
  for await (const piece of stream) text += piece;
  return text;
};

t.test('streams the reply and keeps a bounded memory of the conversation', async (t) => {
  const cloud = await startFakeCloud({ reply: 'Nice to meet you.' });
  t.teardown(cloud.close);
  const config = configSchema.parse({ voice: { openai_base_url: cloud.openaiBaseUrl, llm: { memory_turns: 2, model: 'llama3.2' } } }).voice;
  const brain = new ChatBrain(config, 'sk');
  for (const question of ['one?', 'two?', 'three?']) {
    t.equal(await collect(brain.reply({ userText: question, recentEmotions: [] }, new AbortController().signal)), 'Nice to meet you.');
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
