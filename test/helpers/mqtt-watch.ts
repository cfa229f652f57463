import mqtt from 'mqtt';
import { MQTT_PASSWORD, MQTT_USER } from './mosquitto.js';
import { waitFor } from './wait.js';

/** A dashboard stand-in: subscribes to a filter and records every message, retained ones included. */
export async function watch(url: string, filter: string, ca?: Buffer) {
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  const client = await mqtt.connectAsync(url, { username: MQTT_USER, password: MQTT_PASSWORD, reconnectPeriod: 200, ...(ca ? { ca } : {}) });
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    on: (topic: string) => messages.filter((m) => m.topic === topic),
    until: (what: string, predicate: () => boolean, timeoutMs = 10_000) => waitFor(predicate, what, timeoutMs),
    close: () => client.endAsync(true),
  };
}
