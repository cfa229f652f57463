import { ConfigError, findConfigFile, formatIssue, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { remoteOverlayFile } from '../config/overlay.js';

/**
 * The config for a command (explicit file, or the standard search). An invalid one is reported on
 * stderr, one `file:line:column key: problem (got value)` line per issue, and yields undefined.
 */
export function loadConfigOrReport(explicitFile: string | undefined): LoadedConfig | undefined {
  try {
    const loaded = loadConfigFile(findConfigFile(explicitFile), remoteOverlayFile());
    for (const warning of loaded.warnings ?? []) process.stderr.write(`${warning}\n`);
    return loaded;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) process.stderr.write(`${formatIssue(err.file, issue)}\n`);
    return undefined;
  }
}
