import pino from 'pino';
import { demoConfig } from '../config/demo.js';
import { BUILT_IN } from '../config/load.js';
import { Daemon } from '../runtime/daemon.js';
import { createLogger } from '../runtime/logger.js';
import { secretValues } from '../config/secrets.js';
import { remoteChangeProblems } from '../expression/expression.js';
import { loadConfigOrReport } from './load-config.js';
import { subsystemsFor } from './subsystems.js';

export interface DaemonCommandOptions {
  demo: boolean;
  configPath?: string;
  seconds?: number;
  verbose: boolean;
}

/** `emobot run` and `emobot demo`: owns the process (signals, exit code) around a Daemon. */
export async function daemonCommand(options: DaemonCommandOptions): Promise<number> {
  const loaded = options.demo ? { config: demoConfig(), file: BUILT_IN } : loadConfigOrReport(options.configPath);
  if (!loaded) return 2;
  const { config } = loaded;
  // The demo talks to a person through the console presenter; its logs would drown that out.
  let daemon: Daemon | undefined;
  const log = createLogger({
    level: options.demo && !options.verbose ? 'warn' : config.log.level,
    robotId: config.robot.id,
    secrets: secretValues(),
    ...(options.demo ? { destination: pino.destination({ dest: 2, sync: true }) } : {}),
    // Warnings and errors also go on the bus, where the MQTT subsystem publishes them.
    onProblem: (entry) => daemon?.bus.emit('log', entry),
  });
  daemon = new Daemon({ loaded, definitions: subsystemsFor(options), log, watchConfig: true, checkRemoteChange: remoteChangeProblems });

  return new Promise<number>((resolve) => {
    let exiting = false;
    const exit = (code: number) => {
      if (exiting) return;
      exiting = true;
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(code);
    };
    const shutdown = (reason: string, code = 0) => {
      const hardStop = setTimeout(() => {
        log.error(`shutdown took longer than ${config.runtime.shutdown_timeout_ms} ms, exiting anyway`);
        exit(1);
      }, daemon.config.runtime.shutdown_timeout_ms + 1000);
      hardStop.unref();
      daemon.stop(reason).then(
        () => exit(code),
        (err: Error) => {
          log.error({ err }, `shutdown failed: ${err.message}`);
          exit(1);
        },
      );
    };
    let signalled = 0;
    const onStopSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C means "now": skip the graceful path.
      if (++signalled > 1) return exit(130);
      shutdown(signal);
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- process.on's overloads take differently typed listeners
    const handlers: [NodeJS.Signals | 'uncaughtException' | 'unhandledRejection', (...args: any[]) => void][] = [
      ['SIGTERM', onStopSignal],
      ['SIGINT', onStopSignal],
      ['SIGHUP', () => void daemon.reload('SIGHUP')],
      [
        'uncaughtException',
        (err: Error) => {
          // Not attributable to a subsystem: let systemd restart the whole process from a clean state.
          log.fatal({ err }, `uncaught exception: ${err.message}`);
          shutdown('uncaught exception', 1);
        },
      ],
      ['unhandledRejection', (reason: unknown) => log.error({ err: reason }, `unhandled promise rejection: ${String(reason)}`)],
    ];
    for (const [signal, handler] of handlers) process.on(signal, handler);

    daemon.start().then(
      () => {
        if (options.seconds) setTimeout(() => shutdown(`--seconds ${options.seconds} elapsed`), options.seconds * 1000).unref();
      },
      (err: Error) => {
        log.fatal({ err }, `failed to start: ${err.message}`);
        exit(1);
      },
    );
  });
}
