import mqtt, { type MqttClient } from 'mqtt';
import type { Config } from '../config/schema.js';
import { backoffDelay } from '../runtime/backoff.js';
import { excerpt } from '../runtime/errors.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';
import { discoveryMessages } from './home-assistant.js';
import { runCommand, type CommandReply } from './commands.js';
import { RateLimit } from './rate-limit.js';
import { connectOptions, MAX_PACKET_BYTES } from './connection.js';
import { Outbox, type OutgoingMessage } from './outbox.js';
import type { ConversationPayload, EmotionPayload } from './payloads.js';
import { RobotReport, round, roundAll } from './report.js';
import { topicsFor, type Topics } from './topics.js';

/** CONNACK codes that mean the login (MQTT 3.1.1: 4, 5; MQTT 5: bad user name or password, not authorized, bad authentication method). */
const LOGIN_REFUSALS = new Set([4, 5, 0x86, 0x87, 0x8c]);

/** Who asked, in commands' bus events and logs; the camera echoes it so a snapshot goes back only here. */
const COMMAND_SOURCE = 'MQTT';

/**
 * Publishes the robot's status, state, emotion changes and telemetry to an MQTT broker. The broker
 * being down, at start or later, never stops the robot: messages wait in a bounded outbox and the
 * client reconnects with exponential backoff. The broker announces "offline" (the last will) when
 * the robot dies without saying goodbye.
 */
class Remote implements Subsystem {
  private client?: MqttClient;
  private readonly outbox: Outbox;
  private readonly topics: Topics;
  /** The daemon's current config: other sections change without restarting this subsystem. */
  private current: Config;
  private report?: RobotReport;
  /** A burst of 20 commands, then 10 a second: more than a person or Home Assistant sends. */
  private readonly commandRate = new RateLimit(20, 10);
  /**
   * Config commands write to disk and restart subsystems: 10 at once, then one a second. Their own
   * count alone: the broker gives them to the owner's account only, and a flood of everyday commands
   * from another account must not lock the owner out of turning the voice offline.
   */
  private readonly configRate = new RateLimit(10, 1);
  /** When each limit last answered a refused command: a flood gets one reply a second, not one each. */
  private readonly lastLimitReply = new Map<RateLimit, number>();
  private refusedSinceWarning = 0;
  private lastRefusalWarning = -Infinity;

  constructor(private readonly config: Config) {
    this.outbox = new Outbox(config.remote.mqtt.queue_limit);
    this.topics = topicsFor(config);
    this.current = config;
  }

  async start(ctx: SubsystemContext): Promise<void> {
    const { mqtt: settings } = this.config.remote;
    const mqtt5 = settings.protocol === '5';
    const client = mqtt.connect(settings.url, {
      ...connectOptions(settings, ctx.secrets.mqttPassword, `emobot-${this.config.robot.id}`),
      ...(mqtt5 ? { properties: { maximumPacketSize: MAX_PACKET_BYTES } } : {}),
      will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    let failures = 0;
    /** The broker answered and said no: it is not "unreachable". */
    let refused = false;
    client.on('connect', () => {
      failures = 0;
      refused = false;
      client.options.reconnectPeriod = settings.reconnect.initial_delay_ms;
      ctx.log.info({ url: settings.url, queued: this.outbox.size, droppedWhileOffline: this.outbox.dropped }, `MQTT connected to ${settings.url}`);
      this.outbox.dropped = 0;
      this.send({ topic: this.topics.status, payload: 'online', retain: true, qos: 1 });
      // Retain handling 2: the broker hands over no retained command at subscription (MQTT 5; the
      // guard below covers 3.1.1). One over the size limit would otherwise close every connection.
      // MQTT 5: nor handed back its own replies (no local), which a flood of commands would double.
      if (settings.commands) client.subscribe(`${this.topics.commands}/#`, { qos: 1, ...(mqtt5 ? { rh: 2, nl: true } : {}) });
      if (settings.home_assistant.enabled) for (const message of discoveryMessages(this.config, this.topics)) this.send(message);
      for (const message of this.outbox.drain()) this.send(message);
    });
    client.on('close', () => {
      failures++;
      // mqtt.js reads reconnectPeriod when it schedules the next attempt: this makes it exponential.
      client.options.reconnectPeriod = backoffDelay(failures, settings.reconnect);
    });
    client.on('error', (err) => {
      // mqtt.js words a refused CONNACK so (other reason-coded errors, an oversize packet, are not the broker's refusal).
      const refusal = err.message.startsWith('Connection refused: ') ? err.message.slice('Connection refused: '.length) : undefined;
      refused = refusal !== undefined;
      const login = LOGIN_REFUSALS.has((err as { code?: unknown }).code as number);
      const why = refusal === undefined ? err.message : `the broker refused the robot (${refusal})${login ? ": check remote.mqtt.username, EMOBOT_MQTT_PASSWORD and the broker's ACL" : ''}`;
      ctx.log.warn({ url: settings.url, err: err.message }, `MQTT ${settings.url}: ${why}; retrying, backing off to every ${settings.reconnect.max_delay_ms} ms`);
    });
    client.on('offline', () => ctx.log.warn({ url: settings.url }, `MQTT broker ${settings.url} ${refused ? 'refused the robot' : 'unreachable'}; queueing up to ${settings.queue_limit} events`));

    client.on('message', (topic, payload, packet) => {
      // A retained command is one the broker keeps and hands over again at every (re)subscription:
      // obeyed, one message would put the robot to sleep or make it speak after every reboot. A command
      // sent while the robot is connected arrives without the flag (MQTT 3.3.1.3), however it was sent.
      if (packet.retain) {
        ctx.log.warn({ topic: excerpt(topic, 120) }, `MQTT command ${excerpt(topic, 120)} is retained on the broker: not obeyed (commands act when sent; clear it with an empty retained message)`);
        return;
      }
      // mqtt.js calls this without a guard: whatever a sender manages, the daemon must not die of it.
      try {
        this.onCommand(ctx, topic, payload);
      } catch (err) {
        ctx.log.error({ err }, `MQTT command on ${excerpt(topic, 120)} failed: ${(err as Error).message}`);
      }
    });
    ctx.bus.on('config.reloaded', ({ config }) => {
      this.current = config;
    });
    ctx.bus.on('log', (entry) => this.publish({ topic: this.topics.log, payload: JSON.stringify(entry), retain: false, qos: 0 }, 'event'));
    ctx.bus.on('emotion', (e) => {
      const payload: EmotionPayload = { ...e, confidence: round(e.confidence), probabilities: roundAll(e.probabilities) };
      this.publish({ topic: this.topics.emotion, payload: JSON.stringify(payload), retain: false, qos: 0 }, 'event');
    });
    this.report = new RobotReport(ctx.bus, () => ctx.robotState(), {
      state: (state) => this.publish({ topic: this.topics.state, payload: JSON.stringify(state), retain: true, qos: 1 }, 'latest'),
      telemetry: (telemetry) => this.publish({ topic: this.topics.telemetry, payload: JSON.stringify(telemetry), retain: false, qos: 0 }, 'latest'),
    });
    const conversation = (payload: ConversationPayload) => {
      if (this.current.remote.mqtt.conversation) this.publish({ topic: this.topics.conversation, payload: JSON.stringify(payload), retain: false, qos: 1 }, 'event');
    };
    ctx.bus.on('voice.said', ({ text, source, trigger, at }) => conversation({ role: 'robot', text, source, trigger, at }));
    ctx.bus.on('camera.snapshot', ({ jpeg, by }) => {
      // Sent now or never: a picture is not kept for later, neither in memory nor for a late broker.
      if (by === COMMAND_SOURCE && this.current.remote.mqtt.snapshot && this.client?.connected) this.send({ topic: this.topics.snapshot, payload: jpeg, retain: false, qos: 0 });
    });
    ctx.bus.on('voice.heard', ({ text, at }) => conversation({ role: 'person', text, at }));
  }

  async stop(): Promise<void> {
    this.report?.stop();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      // Said explicitly so dashboards see a clean stop at once; bounded in case the broker vanishes meanwhile.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => client.publish(this.topics.status, 'offline', { qos: 1, retain: true }, () => resolve())),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
      ]);
      clearTimeout(timer);
    }
    await client.endAsync(!client.connected);
  }

  private onCommand(ctx: SubsystemContext, topic: string, payload: Buffer): void {
    const prefix = `${this.topics.commands}/`;
    if (!topic.startsWith(prefix) || topic.endsWith('/reply')) return;
    const name = topic.slice(prefix.length);
    const limit = name.startsWith('config/') ? this.configRate : this.commandRate;
    if (!limit.take()) {
      this.refused(ctx);
      const now = performance.now();
      if (now - (this.lastLimitReply.get(limit) ?? -Infinity) < 1000) return;
      this.lastLimitReply.set(limit, now);
      const reply: CommandReply = { id: null, ok: false, error: { field: '', message: `too many commands: at most ${limit.perSecond} a second` } };
      this.send({ topic: `${topic}/reply`, payload: JSON.stringify(reply), retain: false, qos: 0 });
      return;
    }
    const named = excerpt(name, 40); // the sender's topic, up to 64 kB
    const reply = runCommand(name, payload, { by: COMMAND_SOURCE, config: this.current, configFile: ctx.configFile, bus: ctx.bus, changeConfig: ctx.changeConfig });
    if (reply.ok) ctx.log.info({ command: named, id: reply.id }, `MQTT command ${named} done`);
    else ctx.log.warn({ command: named, id: reply.id, error: reply.error }, `MQTT command ${named} rejected: ${reply.error.field ? `${reply.error.field}: ` : ''}${reply.error.message}`);
    this.send({ topic: `${topic}/reply`, payload: JSON.stringify(reply), retain: false, qos: 1 });
  }

  /** One warning per 10 s however long a flood lasts, so the flood does not also flood the log. */
  private refused(ctx: SubsystemContext): void {
    this.refusedSinceWarning++;
    const now = performance.now();
    if (now - this.lastRefusalWarning < 10_000) return;
    ctx.log.warn({ refused: this.refusedSinceWarning }, `MQTT commands refused: over the rate limit (${this.refusedSinceWarning} refused)`);
    this.lastRefusalWarning = now;
    this.refusedSinceWarning = 0;
  }

  private publish(message: OutgoingMessage, kind: 'event' | 'latest'): void {
    if (this.client?.connected) this.send(message);
    else if (kind === 'latest') this.outbox.keepLatest(message);
    else this.outbox.queueEvent(message);
  }

  private send(message: Omit<OutgoingMessage, 'payload'> & { payload: string | Buffer }): void {
    this.client!.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain });
  }
}

export const remote: SubsystemDefinition = {
  name: 'remote',
  sections: ['remote', 'robot'],
  create: (config) => (config.remote.mqtt.enabled ? new Remote(config) : undefined),
};
