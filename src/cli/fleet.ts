import mqtt from 'mqtt';
import type { Config } from '../config/schema.js';
import { readSecrets } from '../config/secrets.js';
import { asError } from '../runtime/errors.js';
import { connectOptions } from '../remote/connection.js';
import { FLEET_MAX_PACKET_BYTES, FleetView, MAX_ROBOTS } from '../remote/fleet.js';
import { jsonLine } from '../runtime/printable.js';

/** The table is redrawn at most this often: a busy broker would otherwise cost a whole table per message. */
const REDRAW_INTERVAL_MS = 250;

export interface FleetOptions {
  config: Config;
  /** Overrides remote.mqtt.url. */
  url?: string;
  json: boolean;
  /** Stop after this long (default: until Ctrl-C). */
  seconds?: number;
  write?: (text: string) => void;
  /** Redraw the table in place (default: when stdout is a terminal); not with --json. */
  interactive?: boolean;
}

/**
 * `emobot fleet`: watches every robot on the broker (the same broker, user and TLS settings as the
 * robot's own config; the password from EMOBOT_MQTT_PASSWORD). A terminal gets a table redrawn as
 * robots report, at most every REDRAW_INTERVAL_MS; --json prints one JSON line per robot update, for
 * scripts.
 */
export async function fleetCommand(options: FleetOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const settings = options.config.remote.mqtt;
  const url = options.url ?? settings.url;
  const view = new FleetView(settings.base_topic);
  if (settings.username !== undefined && settings.username === options.config.robot.id) {
    process.stderr.write(
      `emobot fleet: connecting as this robot's own MQTT user (${settings.username}); on a broker with use_username_as_clientid (docs/mosquitto.conf) that connection drops the robot: give the fleet its own user (a config with remote.mqtt.username: fleet, -c)\n`,
    );
  }
  let client: mqtt.MqttClient;
  try {
    client = mqtt.connect(url, {
      ...connectOptions(settings, readSecrets().mqttPassword, `emobot-fleet-${process.pid}`),
      // The broker then drops a larger message instead of delivering it: mqtt.js would buffer any size.
      ...(settings.protocol === '5' ? { properties: { maximumPacketSize: FLEET_MAX_PACKET_BYTES } } : {}),
      reconnectPeriod: 2000,
    });
  } catch (err) {
    process.stderr.write(`emobot fleet: ${asError(err).message}\n`);
    return 1;
  }
  const interactive = !options.json && (options.interactive ?? process.stdout.isTTY === true);
  let redraw: NodeJS.Timeout | undefined;
  let drawnAt = -Infinity;
  const draw = () => {
    redraw = undefined;
    drawnAt = Date.now();
    write(`\x1b[2J\x1b[H${view.table().join('\n')}\n\n${view.robots.size} robot(s) on ${url}, Ctrl-C to stop\n`);
  };
  client.on('error', (err) => process.stderr.write(`emobot fleet: ${url}: ${err.message}\n`));
  client.on('connect', () => client.subscribe(view.subscriptions, { qos: 1 }));
  client.on('message', (topic, payload) => {
    const robot = view.receive(topic, payload);
    if (!robot) return;
    if (options.json) write(`${jsonLine(robot)}\n`);
    else if (interactive) redraw ??= setTimeout(draw, Math.max(0, drawnAt + REDRAW_INTERVAL_MS - Date.now()));
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      process.off('SIGINT', stop);
      resolve();
    };
    const timer = options.seconds ? setTimeout(stop, options.seconds * 1000) : undefined;
    process.once('SIGINT', stop);
  });
  await client.endAsync();
  // The last change is shown even when its redraw was still waiting.
  if (redraw) {
    clearTimeout(redraw);
    draw();
  }
  if (!options.json && !interactive) write(`${view.table().join('\n')}\n`);
  if (view.ignored) process.stderr.write(`emobot fleet: ignored ${view.ignored} message(s) that no robot sends\n`);
  if (view.forgotten) process.stderr.write(`emobot fleet: forgot ${view.forgotten} robot(s) heard from least recently, to keep at most ${MAX_ROBOTS}\n`);
  return 0;
}
