import type { Config } from '../config/schema.js';
import { robotModes } from '../runtime/events.js';
import { packageVersion } from '../runtime/paths.js';
import type { OutgoingMessage } from './outbox.js';
import type { Topics } from './topics.js';
import { SAY_MAX_LENGTH } from './commands.js';

/**
 * Home Assistant MQTT discovery: retained config messages under <prefix>/<component>/<node>/<object>/config
 * that make the robot appear as one device with its sensors (and, with commands on, a mute switch, a mode
 * select and a text box whose text the robot says), available while its status is "online".
 */
export function discoveryMessages(config: Config, topics: Topics): OutgoingMessage[] {
  // robot.id is already [a-z0-9_-], the character set Home Assistant allows in node ids.
  const node = `emobot_${config.robot.id}`;
  const prefix = config.remote.mqtt.home_assistant.discovery_prefix;
  const common = {
    availability_topic: topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
    device: { identifiers: [node], name: config.robot.name, model: 'EmoBot', manufacturer: 'EmoBot project', sw_version: packageVersion() },
  };
  const sensors: Record<string, Record<string, unknown>> = {
    emotion: {
      name: 'Emotion',
      icon: 'mdi:emoticon-outline',
      state_topic: topics.state,
      value_template: "{{ value_json.emotion.label if value_json.emotion else 'nobody' }}",
      json_attributes_topic: topics.state,
      json_attributes_template: '{{ value_json.emotion | tojson }}',
    },
    faces: { name: 'Faces in view', icon: 'mdi:account-multiple', state_topic: topics.state, value_template: '{{ value_json.faces }}', state_class: 'measurement' },
    fps: { name: 'Vision frame rate', icon: 'mdi:camera-timer', state_topic: topics.telemetry, value_template: '{{ value_json.visionFps }}', unit_of_measurement: 'fps', state_class: 'measurement' },
    cpu_temperature: {
      name: 'CPU temperature',
      device_class: 'temperature',
      state_topic: topics.telemetry,
      value_template: '{{ value_json.cpuTemperatureC | default(None) }}',
      unit_of_measurement: '°C',
      state_class: 'measurement',
    },
  };
  // Controls only exist where the robot accepts commands.
  const controls: Record<string, Record<string, unknown>> = config.remote.mqtt.commands
    ? {
        'switch/muted': {
          name: 'Muted',
          icon: 'mdi:volume-off',
          command_topic: `${topics.commands}/mute`,
          payload_on: '{"muted":true}',
          payload_off: '{"muted":false}',
          state_topic: topics.state,
          value_template: "{{ 'ON' if value_json.muted else 'OFF' }}",
        },
        'select/mode': {
          name: 'Mode',
          icon: 'mdi:robot',
          command_topic: `${topics.commands}/mode`,
          command_template: '{"mode": "{{ value }}"}',
          options: [...robotModes],
          state_topic: topics.state,
          value_template: '{{ value_json.mode }}',
        },
        'text/say': {
          name: 'Say',
          icon: 'mdi:account-voice',
          command_topic: `${topics.commands}/say`,
          command_template: '{"text": {{ value | tojson }}}',
          max: SAY_MAX_LENGTH,
        },
      }
    : {};
  const entities = { ...Object.fromEntries(Object.entries(sensors).map(([k, v]) => [`sensor/${k}`, v])), ...controls };
  return Object.entries(entities).map(([key, entity]) => {
    const [component, object] = key.split('/') as [string, string];
    return {
      topic: `${prefix}/${component}/${node}/${object}/config`,
      payload: JSON.stringify({ ...entity, unique_id: `${node}_${object}`, object_id: `${node}_${object}`, ...common }),
      retain: true,
      qos: 1 as const,
    };
  });
}
