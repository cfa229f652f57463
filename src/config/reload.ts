import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../runtime/logger.js';
import { ConfigError, formatIssue, loadConfigFile, type ConfigIssue } from './load.js';
import { configSections, type Config, type ConfigSection } from './schema.js';

export function changedSections(before: Config, after: Config): ConfigSection[] {
  return configSections.filter((section) => JSON.stringify(before[section]) !== JSON.stringify(after[section]));
}

export interface ConfigReloaderEvents {
  applied(config: Config, changed: ConfigSection[]): Promise<void>;
  rejected(issues: ConfigIssue[]): void;
}

/**
 * Re-reads the config file on demand (SIGHUP) and when it changes on disk. A bad edit is reported
 * and ignored, so the robot keeps running on the last good config.
 */
export class ConfigReloader {
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    /** Remote control's changes over the file (see overlay.ts), re-read with it. */
    private readonly overlayFile: string | undefined,
    private current: Config,
    private readonly events: ConfigReloaderEvents,
    private readonly log: Logger,
    private readonly debounceMs = 300,
  ) {}

  get config(): Config {
    return this.current;
  }

  /** Watches the folder, not the file: editors and atomic writers replace the file by rename. */
  watchFile(): void {
    const name = path.basename(this.file);
    this.watcher = watch(path.dirname(this.file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload('file changed'), this.debounceMs);
    });
    this.watcher.on('error', (err) => this.log.warn({ err }, `cannot watch ${this.file}: ${err.message}; SIGHUP still reloads`));
  }

  reload(reason: string): Promise<void> {
    // A reload that failed unexpectedly is reported to its caller, and does not stop the ones after it.
    const next = this.running.catch(() => undefined).then(() => this.reloadNow(reason));
    this.running = next;
    return next;
  }

  private async reloadNow(reason: string): Promise<void> {
    let next: Config;
    try {
      const loaded = loadConfigFile(this.file, this.overlayFile);
      for (const warning of loaded.warnings ?? []) this.log.warn(warning);
      next = loaded.config;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const issue of err.issues) this.log.error({ issue }, `config rejected, keeping the last good one: ${formatIssue(this.file, issue)}`);
      this.events.rejected(err.issues);
      return;
    }
    const changed = changedSections(this.current, next);
    if (changed.length === 0) {
      this.log.debug({ reason }, 'config unchanged');
      return;
    }
    this.current = next;
    this.log.info({ reason, changed }, `config reloaded (${reason}); changed: ${changed.join(', ')}`);
    await this.events.applied(next, changed);
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
