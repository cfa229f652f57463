import { ConfigError, formatIssue, loadConfigFile } from '../config/load.js';

export function configCheckCommand(file: string): number {
  try {
    loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) process.stderr.write(`${formatIssue(err.file, issue)}\n`);
    return 1;
  }
  process.stdout.write(`${file}: OK\n`);
  return 0;
}
