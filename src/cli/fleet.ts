import mqtt from 'mqtt';
import type { Config } from '../config/schema.js';
import { readSecrets } from '../config/secrets.js';
import { asError } from '../runtime/errors.js';
import { connectOptions } from '../remote/connection.js';
import { FleetView, jsonLine } from '../remote/fleet.js';

export interface FleetOptions {
  config: Config;
  /** Overrides remote.mqtt.url. */
  url?: string;
  json: boolean;
  /** Stop after this long (default: until Ctrl-C). */
  seconds?: number;
  write?: (text: string) => void;
}

/**
 * `emobot fleet`: watches every robot on the broker (the same broker, user and TLS settings as the
 * robot's own config; the password from EMOBOT_MQTT_PASSWORD). A terminal gets a table redrawn as
 * robots report; --json prints one JSON line per robot update, for scripts.
 */
export async function fleetCommand(options: FleetOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const settings = options.config.remote.mqtt;
  const url = options.url ?? settings.url;
  const view = new FleetView(settings.base_topic);
  let client: mqtt.MqttClient;
  try {
    client = mqtt.connect(url, { ...connectOptions(settings, readSecrets().mqttPassword, `emobot-fleet-${process.pid}`), reconnectPeriod: 2000 });
  } catch (err) {
    process.stderr.write(`emobot fleet: ${asError(err).message}\n`);
    return 1;
  }
  const interactive = !options.json && process.stdout.isTTY === true;
  client.on('error', (err) => process.stderr.write(`emobot fleet: ${url}: ${err.message}\n`));
  client.on('connect', () => client.subscribe(view.subscriptions, { qos: 1 }));
  client.on('message', (topic, payload) => {
    const robot = view.receive(topic, payload);
    if (!robot) return;
    if (options.json) write(`${jsonLine(robot)}\n`);
    else if (interactive) write(`\x1b[2J\x1b[H${view.table().join('\n')}\n\n${view.robots.size} robot(s) on ${url}, Ctrl-C to stop\n`);
  });
  await new Promise<void>((resolve) => {
    const timer = options.seconds ? setTimeout(resolve, options.seconds * 1000) : undefined;
    process.once('SIGINT', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await client.endAsync();
  if (!options.json && !interactive) write(`${view.table().join('\n')}\n`);
  if (view.ignored) process.stderr.write(`emobot fleet: ignored ${view.ignored} message(s) that no robot sends\n`);
  return 0;
}
