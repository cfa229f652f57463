/**
 * A local stand-in for the OpenAI and ElevenLabs APIs, used by the tests and by `emobot bench` to
 * measure the voice pipeline without the internet: it speaks their wire protocols on 127.0.0.1 with
 * configurable delays and failures. Never used by the daemon itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCloudOptions {
  /** Delay before the first SSE chunk of a chat completion. */
  llmFirstTokenMs?: number;
  /** Delay between chat chunks. */
  llmTokenGapMs?: number;
  /** The reply, streamed a few characters per chunk. */
  reply?: string;
  /** Delay before the first PCM bytes of a TTS stream. */
  ttsFirstByteMs?: number;
  /** HTTP status to answer every chat request with (e.g. 500, 429) instead of a stream. */
  llmStatus?: number;
  ttsStatus?: number;
  /** Send broken SSE (a chunk that is not JSON) in the middle of the stream. */
  malformedSse?: boolean;
  /** Never answer chat requests (for timeouts). */
  llmHang?: boolean;
  /** The chat stream's body, written verbatim in these pieces (for fuzzing the SSE parsing). */
  sseBody?: (string | Uint8Array)[];
  /** What the transcription endpoint hears, and how long it takes. */
  transcript?: string;
  sttDelayMs?: number;
  sttStatus?: number;
  /** The message of an error status's body (a service's message may be long, or quote the request). */
  errorMessage?: string;
}

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client closed the connection before the whole answer was sent (it gave the request up). */
  abandoned: boolean;
}

/** Deterministic PCM for a sentence: its bytes identify the text, so tests can find it at the speaker. */
export function pcmFor(text: string, sampleRate = 16_000): Buffer {
  const samples = Math.max(1, Math.round((sampleRate * 0.05 * text.length) / 4)); // ~12.5 ms per character
  const pcm = Buffer.alloc(samples * 2);
  let seed = [...text].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
  for (let i = 0; i < samples; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    pcm.writeInt16LE(((seed >>> 16) % 20000) - 10000, i * 2);
  }
  return pcm;
}

/**
 * OpenAI (chat completions with SSE streaming) and ElevenLabs (streamed PCM TTS) on 127.0.0.1, speaking
 * their real wire protocols so the real SDKs can be pointed at it by base URL.
 */
export async function startFakeCloud(initial: FakeCloudOptions = {}) {
  const options: FakeCloudOptions = { ...initial };
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const recorded: RecordedRequest = { path: `${req.method} ${url.pathname}${url.search}`, headers: req.headers, body, abandoned: false };
      requests.push(recorded);
      res.once('close', () => (recorded.abandoned = !res.writableFinished));
      if (req.method === 'POST' && url.pathname === '/v1/chat/completions') return chat(res, body);
      if (req.method === 'POST' && url.pathname === '/v1/audio/transcriptions') return transcription(res);
      const tts = /^\/v1\/text-to-speech\/([^/]+)\/stream$/.exec(url.pathname);
      if (req.method === 'POST' && tts) return speech(res, body, url);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${url.pathname}` } }));
    });
  });
  const sleep = (ms = 0) => new Promise((r) => setTimeout(r, ms));

  /** An error as OpenAI's API answers one. */
  function openAiError(res: http.ServerResponse, status: number, type: string): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: options.errorMessage ?? `fake ${status}`, type } }));
  }

  async function chat(res: http.ServerResponse, body: string) {
    if (options.llmHang) return;
    if (options.llmStatus) {
      return openAiError(res, options.llmStatus, 'server_error');
    }
    const request = JSON.parse(body) as { model: string; stream?: boolean };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (options.sseBody) {
      for (const piece of options.sseBody) res.write(piece);
      res.end();
      return;
    }
    await sleep(options.llmFirstTokenMs);
    const reply = options.reply ?? 'Hello there. How are you today?';
    const pieces = reply.match(/.{1,6}/gs) ?? [];
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }));
    for (const [i, piece] of pieces.entries()) {
      if (res.destroyed) return;
      if (options.malformedSse && i === Math.floor(pieces.length / 2)) res.write('data: {"choices": [{"delta": \n\n');
      res.write(chunk({ content: piece }));
      await sleep(options.llmTokenGapMs ?? 5);
    }
    res.write(chunk({}, 'stop'));
    res.end('data: [DONE]\n\n');
  }

  async function transcription(res: http.ServerResponse) {
    await sleep(options.sttDelayMs);
    if (options.sttStatus) {
      return openAiError(res, options.sttStatus, 'invalid_request_error');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: options.transcript ?? '' }));
  }

  async function speech(res: http.ServerResponse, body: string, url: URL) {
    if (options.ttsStatus) {
      res.writeHead(options.ttsStatus, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: { status: 'fake', message: options.errorMessage ?? `fake ${options.ttsStatus}` } }));
      return;
    }
    const { text } = JSON.parse(body) as { text: string };
    const rate = Number(/pcm_(\d+)/.exec(url.searchParams.get('output_format') ?? '')?.[1] ?? 16000);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    await sleep(options.ttsFirstByteMs);
    const pcm = pcmFor(text, rate);
    for (let offset = 0; offset < pcm.length && !res.destroyed; offset += 4096) {
      res.write(pcm.subarray(offset, offset + 4096));
      await sleep(2);
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    openaiBaseUrl: `http://127.0.0.1:${port}/v1`,
    elevenlabsBaseUrl: `http://127.0.0.1:${port}`,
    options,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
