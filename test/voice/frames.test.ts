import t from 'tap';
import { Pipeline, type Push, type Stage as StageOf } from '../../src/voice/frames.js';
import { collector as collectorOf } from '../helpers/stages.js';

// Frames of the tests' own: the pipeline knows nothing of what flows through it.
type Down = { type: 'text'; text: string } | { type: 'other' };
type Up = { type: 'note'; text: string };
type Stage = StageOf<Down, Up>;
const collector = () => collectorOf<Down, Up>();
const frame = (text: string): Down => ({ type: 'text', text });
const texts = (frames: Down[]) => frames.map((f) => (f.type === 'text' ? f.text : f.type));

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
  for (const text of ['a', 'b', 'c']) pipeline.push(frame(text));
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
  pipeline.push(frame('a'));
  await new Promise((resolve) => setTimeout(resolve, 10));
  // 'a' is in the waiting stage now.
  pipeline.push(frame('b'));
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
      if (frame.type === 'text' && frame.text === 'bad') throw new Error('cannot');
      push(frame);
    },
  };
  const pipeline = new Pipeline([picky, end], (stage, err) => errors.push(`${stage}: ${(err as Error).message}`));
  for (const text of ['a', 'bad', 'c']) pipeline.push(frame(text));
  await pipeline.idle();
  t.same(texts(end.got), ['a', 'c']);
  t.same(errors, ['picky: cannot']);
});

t.test('frames pushed up reach every stage from the last to the first', async (t) => {
  const order: string[] = [];
  const stage = (name: string): Stage => ({ name, down: (frame: Down, push: Push<Down>) => push(frame), up: () => void order.push(name) });
  const pipeline = new Pipeline<Down, Up>([stage('first'), { name: 'no up', down: () => {} }, stage('last')], () => t.fail('no stage fails'), () => order.push('owner'));
  pipeline.pushUp({ type: 'note', text: 'x' });
  t.same(order, ['last', 'first', 'owner'], 'and out of the top, to the pipeline\'s owner');
});

t.test('a stage sends frames up from where it is: the stages above it hear them, it and those below do not', async (t) => {
  const heard: string[] = [];
  const listener = (name: string): Stage => ({ name, down: (frame, push) => push(frame), up: (frame) => void heard.push(`${name}: ${frame.text}`) });
  const reporter: Stage = {
    name: 'reporter',
    down: (frame, push, pushUp) => {
      pushUp({ type: 'note', text: 'failed' });
      push(frame);
    },
    up: (frame) => void heard.push(`reporter: ${frame.text}`),
  };
  const end = collector();
  const pipeline = new Pipeline<Down, Up>([listener('top'), listener('middle'), reporter, listener('below'), end], () => t.fail('no stage fails'), (frame) => heard.push(`owner: ${frame.text}`));
  pipeline.push(frame('a'));
  await pipeline.idle();
  t.same(heard, ['middle: failed', 'top: failed', 'owner: failed']);
  t.same(texts(end.got), ['a'], 'and the frame itself went on down');
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stage that takes `ms` for each frame, noting when it is done with one and when it stopped. */
function awaiting(name: string, ms: number, events: string[], stopFails = false): Stage {
  return {
    name,
    down: async (frame, push) => {
      await wait(ms);
      events.push(`${name} done`);
      push(frame);
    },
    stop: async () => {
      events.push(`${name} stopped`);
      if (stopFails) throw new Error('stuck');
    },
  };
}

t.test('idle waits until a frame is through every awaiting stage in a row', async (t) => {
  const end = collector();
  const pipeline = new Pipeline([awaiting('a', 10, []), awaiting('b', 10, []), end], () => t.fail('no stage fails'));
  pipeline.push(frame('x'));
  await pipeline.idle();
  t.same(texts(end.got), ['x']);
});

t.test('stop takes no more frames in and stops each stage once what it was handed is done, top first', async (t) => {
  const events: string[] = [];
  const errors: string[] = [];
  const end = collector();
  const pipeline = new Pipeline([awaiting('first', 20, events, true), awaiting('second', 20, events), end], (stage, err) => errors.push(`${stage}: ${(err as Error).message}`));
  pipeline.push(frame('a'));
  await wait(5);
  const stopped = pipeline.stop();
  pipeline.push(frame('too late'));
  await stopped;
  // Long enough for a frame that was let in to have come through both stages.
  await wait(60);
  t.same(events, ['first done', 'first stopped', 'second done', 'second stopped'], 'the frame in the first stage still went through the second');
  t.same(texts(end.got), ['a'], 'nothing pushed after stop began');
  t.same(errors, ['first: stuck'], 'a stage that fails to stop is reported, and the next still stops');
});
