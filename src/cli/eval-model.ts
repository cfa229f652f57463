import { evaluateModel, type EvalModelResult, type EvaluationOptions } from '../vision/evaluation.js';

export interface EvalModelOptions extends EvaluationOptions {
  json: boolean;
}

export async function evalModelCommand(options: EvalModelOptions): Promise<number> {
  const result = await evaluateModel(options);
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatReport(result));
  return 0;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function formatReport(r: EvalModelResult): string {
  const labels = Object.keys(r.perClass);
  const width = Math.max(8, ...labels.map((l) => l.length));
  const lines = [
    `model        ${r.model} (${r.executionProvider}${r.testTimeFlip ? ', flip-averaged' : ''})`,
    `images       ${r.count}`,
    `accuracy     ${pct(r.accuracy)}`,
    `macro-F1     ${pct(r.macroF1)}`,
    `ms/image     ${r.msPerImage.toFixed(3)} (batch ${r.batch})`,
    '',
    `${'class'.padEnd(width)}  count  recall  precision     F1`,
    ...labels.map((l) => {
      const m = r.perClass[l]!;
      return `${l.padEnd(width)}  ${String(m.count).padStart(5)}  ${pct(m.recall).padStart(6)}  ${pct(m.precision).padStart(9)}  ${pct(m.f1).padStart(6)}`;
    }),
    '',
    `confusion (rows: true class, columns: predicted)`,
    `${''.padEnd(width)}  ${labels.map((l) => l.slice(0, 5).padStart(5)).join(' ')}`,
    ...r.confusion.map((row, i) => `${labels[i]!.padEnd(width)}  ${row.map((v) => String(v).padStart(5)).join(' ')}`),
  ];
  return `${lines.join('\n')}\n`;
}
