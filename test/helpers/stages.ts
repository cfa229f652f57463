import type { Frame, Stage } from '../../src/voice/frames.js';
import type { ListeningFrame, ListeningUpFrame } from '../../src/voice/listening.js';

/** The end of a pipeline under test (a listening one unless told): keeps what reaches it. */
export function collector<Down extends Frame = ListeningFrame, Up extends Frame = ListeningUpFrame>(): Stage<Down, Up> & { got: Down[] } {
  const got: Down[] = [];
  return { name: 'collector', got, down: (frame) => void got.push(frame) };
}
