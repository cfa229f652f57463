import { loadConfigOrReport } from './load-config.js';

export function configCheckCommand(file: string): number {
  if (!loadConfigOrReport(file)) return 1;
  process.stdout.write(`${file}: OK\n`);
  return 0;
}
