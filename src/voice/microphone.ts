import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

interface Recording {
  stream(): Readable;
  stop(): void;
  process: { on(event: 'close', listener: (code: number | null) => void): void };
}

/**
 * The program node-record-lpcm16 records with: arecord on the ALSA device. The tests and the soak run
 * replace it with a real-time fake microphone, a module named by EMOBOT_RECORDER_MODULE in the
 * environment of whoever starts the daemon; the config, and so remote control, cannot name a module.
 */
export function recorderFor(env: NodeJS.ProcessEnv): string {
  const module = env.EMOBOT_RECORDER_MODULE;
  if (!module) return 'arecord';
  if (!path.isAbsolute(module) || !module.endsWith('.cjs') || !existsSync(module)) throw new Error(`EMOBOT_RECORDER_MODULE must be the absolute path of an existing .cjs file`);
  return module;
}

/**
 * The microphone through node-record-lpcm16 (arecord on the configured ALSA device): 16 kHz, mono,
 * 16-bit PCM chunks. A recorder that fails (no such device, unplugged USB mic) is reported once,
 * with the device name; stopping is not a failure, though arecord exits with 1 when stopped.
 */
export class Microphone {
  private recording?: Recording;
  private stopping = false;

  constructor(
    private readonly device: string,
    private readonly recorder: string,
    readonly sampleRate = 16_000,
  ) {}

  start(onAudio: (pcm: Buffer) => void, onError: (error: Error) => void): void {
    const { record } = require('node-record-lpcm16') as { record(options: object): Recording };
    const recording = record({ sampleRate: this.sampleRate, channels: 1, audioType: 'raw', recorder: this.recorder, device: this.device });
    this.recording = recording;
    let failed = false;
    const fail = (detail: string) => {
      if (failed || this.stopping) return;
      failed = true;
      onError(new Error(`microphone ${this.device}: ${detail}`));
    };
    const stream = recording.stream();
    stream.on('data', (chunk: Buffer) => onAudio(chunk));
    // node-record-lpcm16 reports a failed recorder as a string 'error' on the stream.
    stream.on('error', (err: unknown) => fail(String(err instanceof Error ? err.message : err).split('\n')[0]!));
    recording.process.on('close', (code) => {
      if (code !== 0) fail(`recorder exited with ${code}`);
    });
  }

  stop(): void {
    this.stopping = true;
    this.recording?.stop();
  }
}
