import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { startFakeCloud } from '../../src/dev/fake-cloud.js';
import { MAX_TRANSCRIPT_LENGTH, Transcriber } from '../../src/voice/transcriber.js';

const RATE = 16_000;

t.test('the real SDK against the endpoint: what it hears, trimmed', async (t) => {
  const cloud = await startFakeCloud({ transcript: '  robot, what time is it? ' });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl } }).voice;
  t.equal(await new Transcriber(voice, 'sk-test').transcribe(Buffer.alloc(3200), RATE, new AbortController().signal), 'robot, what time is it?');
  const request = cloud.requests.find((q) => q.path === 'POST /v1/audio/transcriptions');
  t.match(request?.headers['content-type'], /multipart\/form-data/, 'the audio goes as a file upload');
  t.match(request?.body, /RIFF/, 'a WAV file');
});

t.test('a transcript is at most MAX_TRANSCRIPT_LENGTH characters, whatever the endpoint answers', async (t) => {
  const cloud = await startFakeCloud({ transcript: 'blah '.repeat(100_000) });
  t.teardown(cloud.close);
  const voice = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl } }).voice;
  const text = await new Transcriber(voice, 'sk-test').transcribe(Buffer.alloc(3200), RATE, new AbortController().signal);
  t.equal(text.length, MAX_TRANSCRIPT_LENGTH);
});
