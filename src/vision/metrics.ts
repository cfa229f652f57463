export interface ClassMetrics {
  count: number;
  recall: number;
  precision: number;
  f1: number;
}

export interface ClassificationReport {
  count: number;
  accuracy: number;
  macroF1: number;
  perClass: Record<string, ClassMetrics>;
  /** confusion[truth][predicted], in label order. */
  confusion: number[][];
}

export function classificationReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, labels: string[]): ClassificationReport {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (t >= k || p >= k) throw new RangeError(`label ${Math.max(t, p)} at record ${i} is outside the ${k} known labels`);
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const perClass: Record<string, ClassMetrics> = {};
  labels.forEach((label, c) => {
    const count = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[c]!, 0);
    const hits = confusion[c]![c]!;
    const recall = count ? hits / count : 0;
    const precision = predictedAs ? hits / predictedAs : 0;
    perClass[label] = { count, recall, precision, f1: recall + precision ? (2 * recall * precision) / (recall + precision) : 0 };
  });
  const macroF1 = Object.values(perClass).reduce((a, m) => a + m.f1, 0) / k;
  return { count: truth.length, accuracy: truth.length ? correct / truth.length : 0, macroF1, perClass, confusion };
}

/** Index of the largest value (the first, on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
