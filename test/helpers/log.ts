import { Writable } from 'node:stream';
import pino from 'pino';

/** A real pino logger whose JSON lines are kept for assertions. */
export function capturingLogger(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, stream), lines, messages: () => lines.map((l) => String(l.msg)) };
}
