import type { Config, ConfigSection } from '../config/schema.js';
import type { Secrets } from '../config/secrets.js';
import type { ScopedBus } from './bus.js';
import type { RobotState } from './events.js';
import type { Liveness } from './liveness.js';
import type { Logger } from './logger.js';

export interface SubsystemContext {
  readonly config: Config;
  readonly secrets: Secrets;
  readonly bus: ScopedBus;
  readonly log: Logger;
  readonly liveness: Liveness;
  /** The robot's current mode and mute state; changes arrive as robot.state events. */
  robotState(): RobotState;
  /** The YAML file the config came from, or BUILT_IN when the defaults are in use. */
  readonly configFile: string;
  /**
   * Remote control's way to change the config (MQTT config/set): only keys it may change, validated,
   * kept in the overlay and applied by a reload. Throws a ConfigError naming the key when refused.
   */
  changeConfig(patch: Record<string, unknown>, by: string): { file: string; changed: ConfigSection[] };
  /** Report a failure that happened outside start(): the supervisor restarts the subsystem with backoff. */
  fail(error: Error): void;
}

/** One running instance. A restart always creates a fresh instance, so no state leaks across crashes. */
export interface Subsystem {
  start(ctx: SubsystemContext): Promise<void>;
  /** Must release everything start() acquired; bus subscriptions are dropped by the supervisor. */
  stop(): Promise<void>;
}

export interface SubsystemDefinition {
  readonly name: string;
  /** Config sections whose change restarts this subsystem. */
  readonly sections: readonly ConfigSection[];
  /** Returns undefined when the config disables the subsystem. */
  create(config: Config): Subsystem | undefined;
}
