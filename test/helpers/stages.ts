import type { DownFrame, Stage } from '../../src/voice/frames.js';

/** The end of a listening pipeline under test: keeps what reaches it. */
export function collector(): Stage & { got: DownFrame[] } {
  const got: DownFrame[] = [];
  return { name: 'collector', got, down: (frame) => void got.push(frame) };
}
