import t from 'tap';
import { iou } from '../../src/vision/face.js';

t.test('iou', async (t) => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  t.equal(iou(a, a), 1);
  t.equal(iou(a, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
  t.equal(iou(a, { x: 20, y: 20, width: 5, height: 5 }), 0);
  t.equal(iou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 }), 0, 'empty boxes do not divide by zero');
});
