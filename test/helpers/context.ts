import { BUILT_IN } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Secrets } from '../../src/config/secrets.js';
import { EventBus } from '../../src/runtime/bus.js';
import type { RobotState } from '../../src/runtime/events.js';
import { Liveness } from '../../src/runtime/liveness.js';
import type { SubsystemContext } from '../../src/runtime/subsystem.js';
import { capturingLogger } from './log.js';

/** What the supervisor hands a subsystem, for running one subsystem alone in a test. */
export function subsystemContext(config: Config, options: { secrets?: Secrets; configFile?: string; robot?: RobotState } = {}) {
  const bus = new EventBus((err) => {
    throw err;
  });
  const failures: Error[] = [];
  const { log, messages } = capturingLogger();
  const liveness = new Liveness();
  const ctx: SubsystemContext = {
    config,
    configFile: options.configFile ?? BUILT_IN,
    robotState: () => options.robot ?? { mode: 'active', muted: false },
    secrets: options.secrets ?? {},
    bus: bus.scope((e) => failures.push(e)),
    log,
    liveness,
    changeConfig: () => {
      throw new Error('this test runs without a config file to change');
    },
    fail: (e) => failures.push(e),
  };
  return { ctx, bus, failures, logs: messages, liveness };
}
