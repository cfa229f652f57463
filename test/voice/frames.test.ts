import t from 'tap';
import { Pipeline, type DownFrame, type Push, type Stage, type UpFrame } from '../../src/voice/frames.js';

const transcript = (text: string): DownFrame => ({ type: 'transcript', text });
const texts = (frames: DownFrame[]) => frames.map((f) => (f.type === 'transcript' ? f.text : f.type));

/** The last stage: keeps what reaches it. */
function collector(): Stage & { got: DownFrame[]; ups: UpFrame[] } {
  const got: DownFrame[] = [];
  const ups: UpFrame[] = [];
  return { name: 'collector', got, ups, down: (frame) => void got.push(frame), up: (frame) => void ups.push(frame) };
}

const released = () => {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
};

t.test('frames reach the end in the order pushed, through a stage that awaits its work', async (t) => {
  const end = collector();
  // Takes longer for earlier frames: order must still hold.
  let delay = 30;
  const slow: Stage = {
    name: 'slow',
    down: async (frame, push) => {
      await new Promise((resolve) => setTimeout(resolve, (delay -= 10)));
      push(frame);
    },
  };
  const pipeline = new Pipeline([slow, end], () => t.fail('no stage fails'));
  for (const text of ['a', 'b', 'c']) pipeline.push(transcript(text));
  await pipeline.idle();
  t.same(texts(end.got), ['a', 'b', 'c']);
});

t.test('a stage that awaits holds up only itself and the stages below it', async (t) => {
  const gate = released();
  const seenAbove: string[] = [];
  const above: Stage = { name: 'above', down: (frame, push) => (seenAbove.push(texts([frame])[0]!), push(frame)) };
  const waiting: Stage = { name: 'waiting', down: async (frame, push) => (await gate.promise, push(frame)) };
  const end = collector();
  const pipeline = new Pipeline([above, waiting, end], () => t.fail('no stage fails'));
  pipeline.push(transcript('a'));
  await new Promise((resolve) => setTimeout(resolve, 10));
  // 'a' is in the waiting stage now.
  pipeline.push(transcript('b'));
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.same(seenAbove, ['a', 'b'], 'the stage above has handled both');
  t.same(end.got, [], 'nothing is past the waiting stage yet');
  gate.release();
  await pipeline.idle();
  t.same(texts(end.got), ['a', 'b']);
});

t.test('a stage that fails loses that frame only, and the error names the stage', async (t) => {
  const errors: string[] = [];
  const end = collector();
  const picky: Stage = {
    name: 'picky',
    down: (frame, push) => {
      if (frame.type === 'transcript' && frame.text === 'bad') throw new Error('cannot');
      push(frame);
    },
  };
  const pipeline = new Pipeline([picky, end], (stage, err) => errors.push(`${stage}: ${(err as Error).message}`));
  for (const text of ['a', 'bad', 'c']) pipeline.push(transcript(text));
  await pipeline.idle();
  t.same(texts(end.got), ['a', 'c']);
  t.same(errors, ['picky: cannot']);
});

t.test('frames pushed up reach every stage from the last to the first', async (t) => {
  const order: string[] = [];
  const stage = (name: string): Stage => ({ name, down: (frame: DownFrame, push: Push) => push(frame), up: () => void order.push(name) });
  const pipeline = new Pipeline([stage('first'), { name: 'no up', down: () => {} }, stage('last')], () => t.fail('no stage fails'));
  pipeline.pushUp({ type: 'cancel' });
  t.same(order, ['last', 'first']);
});

t.test('idle waits for frames a stage pushes later; stop lets each stage finish, top first', async (t) => {
  const end = collector();
  const events: string[] = [];
  const later: Stage = {
    name: 'later',
    down: (frame, push) => void setTimeout(() => push(frame), 20),
    stop: async () => void events.push('later stopped'),
  };
  const waiting: Stage = {
    name: 'waiting',
    down: async (frame, push) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      events.push('waiting done');
      push(frame);
    },
    stop: async () => void events.push('waiting stopped'),
  };
  const pipeline = new Pipeline([later, waiting, end], () => t.fail('no stage fails'));
  pipeline.push(transcript('a'));
  await new Promise((resolve) => setTimeout(resolve, 25));
  await pipeline.idle();
  t.same(texts(end.got), ['a'], 'idle returned after the frame pushed late was through');
  pipeline.push(transcript('b'));
  await new Promise((resolve) => setTimeout(resolve, 25));
  await pipeline.stop();
  t.same(events, ['waiting done', 'later stopped', 'waiting done', 'waiting stopped'], 'a stage stops once the frames handed to it are done');
});
