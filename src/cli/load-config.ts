import { ConfigError, findConfigFile, formatIssue, loadConfigFile, type LoadedConfig } from '../config/load.js';

/**
 * The config for a command (explicit file, or the standard search). An invalid one is reported on
 * stderr, one `file:line:column key: problem (got value)` line per issue, and yields undefined.
 */
export function loadConfigOrReport(explicitFile: string | undefined): LoadedConfig | undefined {
  try {
    return loadConfigFile(findConfigFile(explicitFile));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) process.stderr.write(`${formatIssue(err.file, issue)}\n`);
    return undefined;
  }
}
