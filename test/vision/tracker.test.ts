import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { FaceTracker } from '../../src/vision/tracker.js';

const tracking = (extra: object = {}) => configSchema.parse({ vision: { tracking: { confirm_frames: 1, ...extra } } }).vision.tracking;
/** A detection of a square face at (x, y). */
const box = (x: number, y: number, side: number) => ({ box: { x, y, width: side, height: side }, score: 1 });

t.test('a moving face keeps its id; a new face gets a new one', async (t) => {
  const tracker = new FaceTracker(tracking());
  const first = tracker.update([box(100, 100, 80)], 0);
  t.same(first.found.map((f) => f.id), [1]);
  let now = 0;
  const ids = new Set<number>();
  for (let x = 104; x <= 140; x += 4) {
    now += 33;
    const update = tracker.update([box(x, 100, 80), ...(x === 140 ? [box(400, 50, 60)] : [])], now);
    ids.add(update.visible[0]!.id);
    if (update.lost.length) t.fail(`lost at x=${x}`);
  }
  t.same([...ids], [1], 'the moving face stayed #1');
  const last = tracker.update([box(144, 100, 80), box(402, 50, 60)], now + 33);
  t.same(last.visible.map((v) => v.id), [1, 2], 'largest first');
});

t.test('a face is confirmed after confirm_frames detections; one-frame false positives never surface', async (t) => {
  const tracker = new FaceTracker(tracking({ confirm_frames: 3 }));
  t.same(tracker.update([box(0, 0, 50), box(300, 300, 50)], 0).found, []);
  t.same(tracker.update([box(2, 0, 50)], 33).visible, [], 'not yet confirmed');
  const third = tracker.update([box(4, 0, 50)], 66);
  t.same(third.found.map((f) => f.id), [1]);
  t.same(third.visible.map((f) => f.id), [1]);
  const later = tracker.update([box(6, 0, 50)], 2000);
  t.same(later.lost, [], 'the unconfirmed #2 expired without a face.lost');
});

t.test('a face unseen for lost_after_ms is lost, with how long it was visible', async (t) => {
  const tracker = new FaceTracker(tracking({ lost_after_ms: 500 }));
  tracker.update([box(0, 0, 50)], 0);
  tracker.update([box(0, 0, 50)], 300);
  t.same(tracker.update([], 700).lost, [], 'coasting: missed for 400 ms');
  const gone = tracker.update([], 801);
  t.match(gone.lost, [{ id: 1, firstSeenMs: 0, lastSeenMs: 300 }]);
  t.equal(gone.attended, undefined);
});

t.test('attention: the largest face, switching only to a clearly larger one that stays larger', async (t) => {
  const tracker = new FaceTracker(tracking({ switch_ratio: 1.3, switch_after_ms: 700 }));
  t.equal(tracker.update([box(0, 0, 100)], 0).attended?.id, 1);
  // Similar size (10% larger by area 1.21x): attention stays, however long.
  const attendedWhileSimilar = new Set<number | undefined>();
  for (let now = 33; now < 2000; now += 33) attendedWhileSimilar.add(tracker.update([box(0, 0, 100), box(300, 0, 110)], now).attended?.id);
  t.same([...attendedWhileSimilar], [1]);
  // Clearly larger (1.44x area): takes over only after 700 ms.
  let switchedAt = -1;
  for (let now = 2000; now < 3500; now += 33) {
    const attended = tracker.update([box(0, 0, 100), box(300, 0, 120)], now).attended?.id;
    if (attended === 2 && switchedAt < 0) switchedAt = now;
  }
  t.ok(switchedAt >= 2700 && switchedAt < 2800, `switched after ${switchedAt - 2000} ms`);
  // A brief flicker of the other face growing does not take attention back.
  t.equal(tracker.update([box(0, 0, 200), box(300, 0, 120)], 3500).attended?.id, 2);
  t.equal(tracker.update([box(0, 0, 100), box(300, 0, 120)], 3533).attended?.id, 2);
});

t.test('when the attended face leaves, attention goes to whoever is largest', async (t) => {
  const tracker = new FaceTracker(tracking({ lost_after_ms: 100 }));
  tracker.update([box(0, 0, 100), box(300, 0, 50)], 0);
  t.equal(tracker.update([box(300, 0, 50)], 200).attended?.id, 2);
});

t.test('following: a face is followed from its first detection until it is lost, confirmed or not', async (t) => {
  const tracker = new FaceTracker(tracking({ confirm_frames: 3, lost_after_ms: 1000 }));
  t.equal(tracker.following, false, 'nobody yet');
  t.same(tracker.update([box(0, 0, 50)], 0).visible, [], 'one detection is not yet a person');
  t.equal(tracker.following, true, 'but is followed');
  tracker.update([], 1000);
  t.equal(tracker.following, true, 'unseen for lost_after_ms: still followed');
  tracker.update([], 1001);
  t.equal(tracker.following, false, 'then dropped');
});

t.test('lastSeen: where each face followed was last seen, confirmed or not, until it is lost', async (t) => {
  const tracker = new FaceTracker(tracking({ confirm_frames: 3, lost_after_ms: 100 }));
  t.same(tracker.lastSeen, [], 'nobody yet');
  tracker.update([box(10, 10, 40), box(300, 200, 30)], 0);
  tracker.update([box(14, 10, 40)], 33);
  t.same(tracker.lastSeen, [box(14, 10, 40).box, box(300, 200, 30).box], 'the moved face where it is now, the other where it was');
  tracker.update([box(18, 10, 40)], 150);
  t.same(tracker.lastSeen, [box(18, 10, 40).box], 'the face missed for longer than lost_after_ms is forgotten');
});
