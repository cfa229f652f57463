import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { EspeakSynthesizer } from '../../src/voice/synthesizer.js';

const config = configSchema.parse({}).voice;

t.test('espeak-ng speaks offline, at the requested sample rate', async (t) => {
  for (const rate of [16_000, 22_050]) {
    const chunks: Buffer[] = [];
    for await (const chunk of new EspeakSynthesizer(config, rate).synthesize('Hello, I am EmoBot.', new AbortController().signal)) chunks.push(chunk);
    const pcm = Buffer.concat(chunks);
    const seconds = pcm.length / 2 / rate;
    t.ok(seconds > 0.8 && seconds < 3, `${rate} Hz: ${seconds.toFixed(2)} s of audio`);
    let peak = 0;
    for (let i = 0; i < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
    t.ok(peak > 3000, `not silence (peak ${peak})`);
  }
});

t.test('an unknown voice is an error naming the problem; abort ends synthesis', async (t) => {
  const bad = configSchema.parse({ voice: { offline: { voice: 'xx-nosuch' } } }).voice;
  await t.rejects(async () => {
    for await (const _ of new EspeakSynthesizer(bad, 16_000).synthesize('hello', new AbortController().signal)) void _;
  }, /offline voice: sox\/espeak-ng failed/);
  const controller = new AbortController();
  controller.abort();
  const chunks: Buffer[] = [];
  for await (const chunk of new EspeakSynthesizer(config, 16_000).synthesize('A long sentence. '.repeat(50), controller.signal)) chunks.push(chunk);
  t.ok(Buffer.concat(chunks).length < 16_000 * 2, 'little or nothing after an abort');
});
