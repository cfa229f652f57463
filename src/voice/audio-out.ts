import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { Writable } from 'node:stream';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

/**
 * Audio is written at most this far ahead of the wall clock, so that stopping (barge-in, mute) leaves
 * little already queued in the device, and a file-backed device plays at the real pace too.
 */
const MAX_LEAD_MS = 100;
const SLICE_MS = 20;

/** One utterance on its way to the speaker: written in order, paced to real time. */
export interface Playback {
  /**
   * Resolves when the chunk has been handed to the device (no earlier than MAX_LEAD_MS before it
   * plays); a fired `signal` ends the wait at once and drops the chunk.
   */
  write(pcm: Buffer, signal?: AbortSignal): Promise<void>;
  /** Lets what was written play out; `abandon` returns at once (at most MAX_LEAD_MS still sounds). */
  end(abandon?: boolean): Promise<void>;
  /** Audio handed to the device that has not played yet (at most MAX_LEAD_MS). */
  queuedMs(): number;
  /** Bytes written so far, and when the first one was. */
  readonly bytes: number;
  readonly firstWriteAt?: number;
}

export interface AudioSink {
  readonly description: string;
  open(sampleRate: number): Playback;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Until the device takes more audio, or never will (it failed or closed), or the wait is called off:
 * a speaker that broke must not hold up the robot's next turn.
 */
function drained(output: Writable, signal?: AbortSignal): Promise<void> {
  if (output.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'error', 'close']) output.off(event, done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    for (const event of ['drain', 'error', 'close']) output.once(event, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Real-time pacing shared by both sinks: wait until the audio already written is nearly due. */
export class PacedPlayback implements Playback {
  bytes = 0;
  firstWriteAt?: number;

  constructor(
    private readonly sampleRate: number,
    private readonly output?: Writable,
  ) {}

  async write(pcm: Buffer, signal?: AbortSignal): Promise<void> {
    this.firstWriteAt ??= performance.now();
    // In slices, so that a large chunk (TTS services send 100 ms and more at once) neither overshoots
    // the lead nor has to wait for the device to run dry before it fits.
    const slice = Math.round((this.sampleRate * SLICE_MS) / 1000) * 2;
    for (let offset = 0; offset < pcm.length; offset += slice) {
      const piece = pcm.subarray(offset, offset + slice);
      const aheadMs = this.msOf(this.bytes + piece.length) - (performance.now() - this.firstWriteAt);
      if (aheadMs > MAX_LEAD_MS) await sleep(aheadMs - MAX_LEAD_MS, signal);
      if (signal?.aborted) return;
      this.bytes += piece.length;
      if (this.output && !this.output.write(piece)) await drained(this.output, signal);
    }
  }

  queuedMs(): number {
    return this.firstWriteAt === undefined ? 0 : Math.max(0, this.msOf(this.bytes) - (performance.now() - this.firstWriteAt));
  }

  async end(abandon = false): Promise<void> {
    if (abandon) {
      this.output?.end();
      return;
    }
    if (this.output) await new Promise<void>((resolve) => this.output!.end(resolve));
    if (this.firstWriteAt === undefined) return;
    const remainingMs = this.msOf(this.bytes) - (performance.now() - this.firstWriteAt);
    if (remainingMs > 0) await new Promise((resolve) => setTimeout(resolve, remainingMs));
  }

  private msOf(bytes: number): number {
    return (bytes / 2 / this.sampleRate) * 1000;
  }
}

/** The speaker through ALSA (the `speaker` package), on the configured device. */
export class SpeakerSink implements AudioSink {
  constructor(readonly device: string) {}

  get description(): string {
    return `ALSA ${this.device}`;
  }

  /**
   * The `speaker` package aborts the whole process when ALSA cannot open the device, without an error
   * it could catch, even for devices aplay plays on. So the device is first opened by the same package
   * in a child process; only if that child plays 50 ms of silence and exits cleanly does the daemon
   * open it, and a failure here is a normal error.
   */
  static async probe(device: string, sampleRate: number): Promise<void> {
    const script = `const Speaker = require(${JSON.stringify(require.resolve('speaker'))});
      const out = new Speaker({ channels: 1, bitDepth: 16, sampleRate: ${sampleRate}, signed: true, device: process.argv[1] });
      out.on('error', (e) => { console.error(String(e && e.message || e)); process.exit(3); });
      out.on('close', () => process.exit(0));
      out.end(Buffer.alloc(${Math.round(sampleRate / 20) * 2}));`;
    try {
      await run(process.execPath, ['-e', script, device], { timeout: 5000 });
    } catch (err) {
      const { signal, stderr } = err as { signal?: string; stderr?: string };
      const detail = signal ? `ALSA could not open it (the audio library aborted with ${signal})` : (stderr || (err as Error).message).trim().split('\n').at(-1);
      throw new Error(`speaker ${device}: cannot play: ${detail}`);
    }
  }

  open(sampleRate: number): Playback {
    const Speaker = require('speaker') as new (options: object) => Writable;
    const output = new Speaker({ channels: 1, bitDepth: 16, sampleRate, signed: true, device: this.device });
    output.on('error', () => {
      // Reported through the failed write; a speaker error must not take the daemon down.
    });
    return new PacedPlayback(sampleRate, output);
  }
}

/** No sound device: the robot's speech is paced as if played and shows as text ([says] lines). */
export class SilentSink implements AudioSink {
  constructor(readonly reason: string) {}

  get description(): string {
    return `no speaker (${this.reason})`;
  }

  open(sampleRate: number): Playback {
    return new PacedPlayback(sampleRate);
  }
}
