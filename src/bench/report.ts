import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes <out>/<name>.json and the plot <out>/<name>.svg; returns their paths. */
export function saveReport(out: string, name: string, report: object, svg: string): { json: string; svg: string } {
  mkdirSync(out, { recursive: true });
  const files = { json: path.join(out, `${name}.json`), svg: path.join(out, `${name}.svg`) };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.svg, svg);
  return files;
}

/** The report on stdout: one line for scripts (--json), indented for people. */
export function printReport(report: object, oneLine: boolean): void {
  process.stdout.write(oneLine ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
}
