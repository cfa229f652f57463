import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Keys that may hold a secret anywhere in a logged object; pino replaces their values. */
const REDACTED_KEYS = ['apiKey', 'api_key', 'password', 'token', 'authorization', 'secrets'];

/** A warning or error as it was logged (secrets already redacted), for remote monitoring. */
export interface ProblemEntry {
  level: 'warn' | 'error' | 'fatal';
  time: string;
  msg: string;
  subsystem?: string;
}

const LEVEL_NAMES: Record<number, ProblemEntry['level']> = { 40: 'warn', 50: 'error', 60: 'fatal' };

/** Each secret as written and as JSON escapes it inside a string, replaced in a serialised line. */
function blankOut(secrets: string[]): (line: string) => string {
  const forms = [...new Set(secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]))].sort((a, b) => b.length - a.length);
  return (line) => forms.reduce((text, form) => text.split(form).join('[redacted]'), line);
}

export function createLogger(options: {
  level: string;
  robotId: string;
  destination?: DestinationStream;
  /** Values blanked out of every line, whatever field they are in (the secrets' values). */
  secrets?: string[];
  /** Receives every logged entry at warn level or above (with log.level error, only errors). */
  onProblem?: (entry: ProblemEntry) => void;
}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const onProblem = options.onProblem;
  const streams = onProblem
    ? pino.multistream([
        { level: 'trace', stream: destination },
        {
          level: 'warn',
          stream: {
            write(line: string) {
              const entry = JSON.parse(line) as { level: number; time: string; msg?: string; subsystem?: string };
              onProblem({ level: LEVEL_NAMES[entry.level] ?? 'error', time: entry.time, msg: entry.msg ?? '', ...(entry.subsystem ? { subsystem: entry.subsystem } : {}) });
            },
          },
        },
      ])
    : destination;
  return pino(
    {
      level: options.level,
      base: { robot: options.robotId },
      redact: { paths: REDACTED_KEYS.flatMap((key) => [key, `*.${key}`]), censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(options.secrets?.length ? { hooks: { streamWrite: blankOut(options.secrets) } } : {}),
    },
    streams,
  );
}
