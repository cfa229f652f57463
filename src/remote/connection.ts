import { readFileSync } from 'node:fs';
import { resolveAsset } from '../runtime/paths.js';
import type { IClientOptions } from 'mqtt';
import type { Config } from '../config/schema.js';
import { asError } from '../runtime/errors.js';
import { COMMAND_MAX_BYTES } from './commands.js';

type MqttSettings = Config['remote']['mqtt'];

/**
 * The largest packet the broker may send the robot: a command's payload limit and room for its
 * topic. MQTT 5 lets a client say so at connection, and the broker then drops a larger message
 * instead of delivering it; mqtt.js would otherwise buffer any size (mosquitto passes up to 256 MB)
 * before the robot could refuse it. Not for `emobot fleet`: a robot's retained state over it would
 * close the fleet's connection at every reconnect.
 */
export const MAX_PACKET_BYTES = COMMAND_MAX_BYTES + 4096;

/** How the robot and `emobot fleet` reach the broker: the same URL, user, password, protocol and TLS files. */
export function connectOptions(settings: MqttSettings, password: string | undefined, clientId: string): IClientOptions {
  return {
    clientId,
    protocolVersion: settings.protocol === '5' ? 5 : 4,
    ...(settings.username ? { username: settings.username } : {}),
    ...(password ? { password } : {}),
    keepalive: settings.keepalive_s,
    reconnectPeriod: settings.reconnect.initial_delay_ms,
    // mqtt.js gives up for good when the broker refuses the login: an owner who then adds the
    // robot's user on the broker, or a broker still loading its auth plugin, would need a restart.
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    queueQoSZero: false,
    ...tlsOptions(settings.tls),
  };
}

function tlsOptions(tls: MqttSettings['tls']) {
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(resolveAsset(file));
    } catch (err) {
      throw new Error(`remote.mqtt.tls.${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? asError(err).message}`);
    }
  };
  const [ca, cert, key] = [read(tls.ca, 'ca'), read(tls.cert, 'cert'), read(tls.key, 'key')];
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: tls.reject_unauthorized };
}
