import type { Config, ConfigSection } from '../config/schema.js';
import type { Secrets } from '../config/secrets.js';
import type { EventBus } from './bus.js';
import { backoffDelay } from './backoff.js';
import { asError } from './errors.js';
import type { RobotState, SubsystemState } from './events.js';
import type { Liveness } from './liveness.js';
import type { Logger } from './logger.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from './subsystem.js';

interface Slot {
  readonly definition: SubsystemDefinition;
  state: SubsystemState;
  instance?: Subsystem;
  /** Bumped on every (re)start so that late failures of an old instance are ignored. */
  generation: number;
  startedAt: number;
  consecutiveCrashes: number;
  restartTimer?: NodeJS.Timeout;
  /** Serialises start/stop/restart of this slot. */
  queue: Promise<void>;
  closeBus?: () => void;
}

/**
 * Owns the subsystems' lifecycle: ordered start, reverse-ordered bounded stop, restart with
 * exponential backoff after a crash, and targeted restarts when their config sections change.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private config: Config;
  private stopping = false;

  constructor(
    definitions: SubsystemDefinition[],
    private readonly deps: {
      config: Config;
      configFile: string;
      secrets: Secrets;
      bus: EventBus;
      log: Logger;
      liveness: Liveness;
      robotState: () => RobotState;
      changeConfig: SubsystemContext['changeConfig'];
      now?: () => number;
    },
  ) {
    this.config = deps.config;
    this.slots = definitions.map((definition) => ({
      definition,
      state: 'stopped',
      generation: 0,
      startedAt: 0,
      consecutiveCrashes: 0,
      queue: Promise.resolve(),
    }));
  }

  private now(): number {
    return this.deps.now?.() ?? performance.now();
  }

  states(): Record<string, SubsystemState> {
    return Object.fromEntries(this.slots.map((s) => [s.definition.name, s.state]));
  }

  async start(): Promise<void> {
    for (const slot of this.slots) await this.enqueue(slot, () => this.launch(slot));
  }

  /** Applies a new config: only subsystems that depend on a changed section are restarted. */
  async reconfigure(config: Config, changed: ConfigSection[]): Promise<string[]> {
    this.config = config;
    const affected = this.slots.filter((slot) => slot.definition.sections.some((s) => changed.includes(s)));
    for (const slot of affected) {
      slot.consecutiveCrashes = 0;
      await this.enqueue(slot, async () => {
        await this.halt(slot);
        await this.launch(slot);
      });
    }
    return affected.map((slot) => slot.definition.name);
  }

  /** Stops every subsystem in reverse start order, each bounded by `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const slot of [...this.slots].reverse()) {
      clearTimeout(slot.restartTimer);
      await this.enqueue(slot, () => this.halt(slot, timeoutMs));
    }
  }

  private enqueue(slot: Slot, task: () => Promise<void>): Promise<void> {
    slot.queue = slot.queue.then(task, task);
    return slot.queue;
  }

  private setState(slot: Slot, state: SubsystemState, extra: { error?: string; restartInMs?: number } = {}): void {
    slot.state = state;
    this.deps.bus.emit('subsystem.state', { name: slot.definition.name, state, ...extra });
  }

  private async launch(slot: Slot): Promise<void> {
    clearTimeout(slot.restartTimer);
    if (this.stopping || slot.instance) return;
    const { name } = slot.definition;
    const log = this.deps.log.child({ subsystem: name });
    const instance = slot.definition.create(this.config);
    if (!instance) {
      this.setState(slot, 'disabled');
      return;
    }
    const generation = ++slot.generation;
    const fail = (error: Error) => {
      if (slot.generation === generation && !this.stopping) this.crashed(slot, error);
    };
    const bus = this.deps.bus.scope((error, event) => fail(new Error(`handler for ${event} failed: ${error.message}`, { cause: error })));
    slot.instance = instance;
    slot.closeBus = () => bus.close();
    slot.startedAt = this.now();
    this.setState(slot, 'starting');
    try {
      const { secrets, liveness, configFile, robotState, changeConfig } = this.deps;
      await instance.start({ config: this.config, configFile, secrets, bus, log, liveness, robotState, changeConfig, fail });
      if (slot.generation === generation && slot.state === 'starting') {
        this.setState(slot, 'running');
        log.info('started');
      }
    } catch (err) {
      fail(asError(err));
    }
  }

  private crashed(slot: Slot, error: Error): void {
    const ranMs = this.now() - slot.startedAt;
    const { restart } = this.config.runtime;
    slot.consecutiveCrashes = ranMs >= restart.stable_after_ms ? 1 : slot.consecutiveCrashes + 1;
    const delay = backoffDelay(slot.consecutiveCrashes, restart);
    slot.generation++;
    this.setState(slot, 'crashed', { error: error.message, restartInMs: delay });
    this.deps.log.error(
      { subsystem: slot.definition.name, err: error, restartInMs: delay, crashes: slot.consecutiveCrashes },
      `${slot.definition.name} crashed: ${error.message}; restarting in ${delay} ms`,
    );
    void this.enqueue(slot, () => this.halt(slot));
    clearTimeout(slot.restartTimer);
    slot.restartTimer = setTimeout(() => void this.enqueue(slot, () => this.launch(slot)), delay);
  }

  private async halt(slot: Slot, timeoutMs = this.config.runtime.shutdown_timeout_ms): Promise<void> {
    const instance = slot.instance;
    slot.instance = undefined;
    slot.closeBus?.();
    slot.closeBus = undefined;
    if (!instance) return;
    slot.generation++;
    const crashed = slot.state === 'crashed';
    if (!crashed) this.setState(slot, 'stopping');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        instance.stop(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not stop within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      this.deps.log.warn({ subsystem: slot.definition.name, err }, `${slot.definition.name} stop failed: ${asError(err).message}`);
    } finally {
      clearTimeout(timer);
    }
    if (!crashed) this.setState(slot, 'stopped');
  }
}
