import { ConfigReloader } from '../config/reload.js';
import type { FileProblem } from '../config/files.js';
import { BUILT_IN, ConfigError, patchRemoteConfig, type LoadedConfig } from '../config/load.js';
import { readSecrets } from '../config/secrets.js';
import { changedSections } from '../config/reload.js';
import type { Config, ConfigSection } from '../config/schema.js';
import { EventBus } from './bus.js';
import { failureKind } from './errors.js';
import type { RobotState } from './events.js';
import { Liveness } from './liveness.js';
import type { Logger } from './logger.js';
import { StatusBoard, summarize } from './status.js';
import type { SubsystemDefinition } from './subsystem.js';
import { Supervisor } from './supervisor.js';
import { SystemdNotifier } from './systemd.js';

export interface DaemonOptions {
  loaded: LoadedConfig;
  definitions: SubsystemDefinition[];
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Reload when the config file changes on disk (SIGHUP always reloads). */
  watchConfig?: boolean;
  /** The subsystems' own checks on a remote config change, beyond the schema and the files. */
  checkRemoteChange?: (config: Config) => FileProblem[];
}

/**
 * Wires the runtime: bus, supervisor, config reloads, systemd notify/watchdog and the status line.
 * Process concerns (signals, exit codes) stay in the CLI so that tests can run a daemon in-process.
 */
export class Daemon {
  readonly bus: EventBus;
  readonly liveness = new Liveness();
  readonly supervisor: Supervisor;
  private readonly notifier: SystemdNotifier;
  private readonly status: StatusBoard;
  private readonly reloader?: ConfigReloader;
  private watchdogTimer?: NodeJS.Timeout;
  private statusTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private watchdogStarved = false;
  private robot: RobotState = { mode: 'active', muted: false };

  constructor(private readonly options: DaemonOptions) {
    const { loaded, log } = options;
    const env = options.env ?? process.env;
    this.bus = new EventBus((err, event) => log.error({ err, event }, `handler for ${event} failed: ${err.message}`));
    this.notifier = new SystemdNotifier(env);
    this.status = new StatusBoard(this.bus);
    this.supervisor = new Supervisor(options.definitions, {
      config: loaded.config,
      configFile: loaded.file,
      robotState: () => this.robot,
      changeConfig: (patch, by) => this.changeConfig(patch, by),
      secrets: readSecrets(env),
      bus: this.bus,
      log,
      liveness: this.liveness,
    });
    if (loaded.file !== BUILT_IN) {
      this.reloader = new ConfigReloader(
        loaded.file,
        loaded.overlayFile,
        loaded.config,
        {
          applied: async (config, changed) => {
            log.level = config.log.level;
            if (changed.includes('runtime') && this.statusTimer) this.scheduleStatus();
            const restarted = await this.supervisor.reconfigure(config, changed);
            this.bus.emit('config.reloaded', { file: loaded.file, changed, config });
            log.info({ changed, restarted }, `restarted for the new config: ${restarted.join(', ') || 'nothing'}`);
          },
          rejected: (issues) => this.bus.emit('config.rejected', { file: loaded.file, issues }),
        },
        log,
      );
    }
  }

  get robotState(): RobotState {
    return this.robot;
  }

  /** The last good config: the file as loaded at start, or its latest valid edit. */
  get config(): Config {
    return this.reloader?.config ?? this.options.loaded.config;
  }

  async start(): Promise<void> {
    const { log } = this.options;
    this.bus.on('config.reload-requested', ({ reason }) => this.reload(reason));
    this.bus.on('robot.control', ({ mode, muted, by }) => {
      const next = { mode: mode ?? this.robot.mode, muted: muted ?? this.robot.muted };
      if (next.mode === this.robot.mode && next.muted === this.robot.muted) return;
      this.robot = next;
      log.info({ ...next, by }, `robot ${next.mode}${next.muted ? ', muted' : ''} (${by})`);
      this.bus.emit('robot.state', next);
    });
    log.info({ configFile: this.options.loaded.file, systemd: this.notifier.enabled }, 'starting');
    await this.supervisor.start();
    if (this.options.watchConfig && this.reloader) this.reloader.watchFile();
    this.scheduleStatus();
    if (this.notifier.watchdogIntervalMs) this.watchdogTimer = setInterval(() => this.feedWatchdog(), this.notifier.watchdogIntervalMs);
    this.notifier.notify({ READY: 1, STATUS: 'running', MAINPID: process.pid });
    log.info({ subsystems: this.supervisor.states() }, 'ready');
  }

  /** Remote control's change: kept in the overlay (the owner's file is never written), then reloaded. */
  private changeConfig(patch: Record<string, unknown>, by: string): { file: string; changed: ConfigSection[] } {
    const { file, overlayFile } = this.options.loaded;
    if (file === BUILT_IN || !overlayFile) throw new ConfigError(file, [{ key: '', message: 'the robot runs on built-in defaults: there is no config to change' }]);
    const { config: next, warnings } = patchRemoteConfig(file, overlayFile, patch, this.options.checkRemoteChange);
    for (const warning of warnings ?? []) this.options.log.warn(warning);
    this.reload(by).catch((err: unknown) => this.options.log.error(`reloading the changed config failed: ${failureKind(err)}`));
    return { file: overlayFile, changed: changedSections(this.config, next) };
  }

  reload(reason: string): Promise<void> {
    if (!this.reloader) {
      this.options.log.warn('no config file in use (built-in defaults), nothing to reload');
      return Promise.resolve();
    }
    return this.reloader.reload(reason);
  }

  /** Idempotent; subsystems are stopped in reverse order, the whole within shutdown_timeout_ms. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    const { log } = this.options;
    const timeoutMs = this.config.runtime.shutdown_timeout_ms;
    log.info({ reason, timeoutMs }, `stopping (${reason})`);
    this.notifier.notify({ STOPPING: 1, STATUS: `stopping: ${reason}` });
    clearInterval(this.statusTimer);
    clearInterval(this.watchdogTimer);
    this.reloader?.close();
    await this.supervisor.stop(timeoutMs);
    this.notifier.close();
    log.info('stopped');
  }

  /** (Re)starts the status line at the configured period; a reload of `runtime` calls it again. */
  private scheduleStatus(): void {
    clearInterval(this.statusTimer);
    this.statusTimer = setInterval(() => this.publishStatus(), this.config.runtime.status_interval_ms);
  }

  private publishStatus(): void {
    const snapshot = this.status.snapshot();
    const summary = summarize(snapshot);
    this.notifier.notify({ STATUS: summary });
    this.bus.emit('runtime.status', { summary, snapshot });
  }

  /** WATCHDOG=1 only while every registered loop is beating; a hung loop lets systemd restart us. */
  private feedWatchdog(): void {
    const stale = this.liveness.stale();
    if (stale.length === 0) {
      if (this.watchdogStarved) this.options.log.info('main loop alive again, feeding the watchdog');
      this.watchdogStarved = false;
      this.notifier.notify({ WATCHDOG: 1 });
      return;
    }
    if (!this.watchdogStarved) {
      this.options.log.error({ stale }, `loop stalled (${stale.join(', ')}): no longer feeding the systemd watchdog`);
      this.notifier.notify({ STATUS: `stalled: ${stale.join(', ')}` });
    }
    this.watchdogStarved = true;
  }
}
