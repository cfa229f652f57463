import type { Config } from '../config/schema.js';

/** Every topic of one robot, under <base_topic>/<robot.id>/. */
export function topicsFor(config: Config) {
  const base = `${config.remote.mqtt.base_topic}/${config.robot.id}`;
  return {
    base,
    status: `${base}/status`,
    state: `${base}/state`,
    emotion: `${base}/emotion`,
    telemetry: `${base}/telemetry`,
    log: `${base}/log`,
    conversation: `${base}/conversation`,
    snapshot: `${base}/snapshot`,
    commands: `${base}/cmd`,
  };
}

export type Topics = ReturnType<typeof topicsFor>;
