import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Keys that may hold a secret anywhere in a logged object; pino replaces their values. */
const REDACTED_KEYS = ['apiKey', 'api_key', 'password', 'token', 'authorization', 'secrets'];

export function createLogger(options: { level: string; robotId: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { robot: options.robotId },
      redact: { paths: REDACTED_KEYS.flatMap((key) => [key, `*.${key}`]), censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
