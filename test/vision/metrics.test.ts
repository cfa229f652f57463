import t from 'tap';
import { classificationReport } from '../../src/vision/metrics.js';

t.test('accuracy, per-class recall/precision/F1, macro-F1 and the confusion matrix', async (t) => {
  const truth = [0, 0, 0, 1, 1, 2];
  const predicted = [0, 0, 1, 1, 2, 2];
  const r = classificationReport(truth, predicted, ['a', 'b', 'c']);
  t.equal(r.count, 6);
  t.equal(r.accuracy, 4 / 6);
  t.same(r.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  t.same(r.perClass.a, { count: 3, recall: 2 / 3, precision: 1, f1: 0.8 });
  t.same(r.perClass.b, { count: 2, recall: 0.5, precision: 0.5, f1: 0.5 });
  t.same(r.perClass.c, { count: 1, recall: 1, precision: 0.5, f1: 2 / 3 });
  t.ok(Math.abs(r.macroF1 - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12);
});

t.test('a class never predicted and never present scores 0, not NaN', async (t) => {
  const r = classificationReport([0, 0], [0, 0], ['a', 'b']);
  t.same(r.perClass.b, { count: 0, recall: 0, precision: 0, f1: 0 });
  t.equal(r.macroF1, 0.5);
});

t.test('labels outside the known classes are rejected', async (t) => {
  t.throws(() => classificationReport([0, 7], [0, 0], ['a', 'b']), { name: 'RangeError', message: /label 7 at record 1/ });
});
