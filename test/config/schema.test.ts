import t from 'tap';
import { configSchema } from '../../src/config/schema.js';

const refused = (config: unknown) => configSchema.safeParse(config).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];

t.test('MQTT topic roots take what a broker accepts in a topic, and are short enough for the ids after them', async (t) => {
  for (const bad of ['emo\u0000bot', '$SYS', 'emo#', 'a+b', 'two words', 'tab\there', 'bell\u0007', 'x'.repeat(101), '']) {
    t.match(refused({ remote: { mqtt: { base_topic: bad } } }), [/^remote\.mqtt\.base_topic: up to 100 characters/], JSON.stringify(bad.slice(0, 20)));
    t.match(refused({ remote: { mqtt: { home_assistant: { discovery_prefix: bad } } } }), [/^remote\.mqtt\.home_assistant\.discovery_prefix: up to 100 characters/]);
  }
  for (const good of ['emobot', 'home/robots', 'a$b', 'x'.repeat(100)]) t.same(refused({ remote: { mqtt: { base_topic: good } } }), [], good.slice(0, 20));
});

t.test('the ElevenLabs voice ID goes into a request path: letters and digits only', async (t) => {
  for (const bad of ['..', '../../v1/user', 'a/b', 'a?b', 'a%2e', '']) t.match(refused({ voice: { tts: { voice_id: bad } } }), [/^voice\.tts\.voice_id: an ElevenLabs voice ID/], bad);
  t.same(refused({ voice: { tts: { voice_id: '21m00Tcm4TlvDq8ikWAM' } } }), []);
});

t.test('emotion lists and the speech-to-text language are words, not free text (both editable over MQTT)', async (t) => {
  for (const bad of ['Sad', 'happy\u009b2J', 'sad face', '', 'x'.repeat(21)]) {
    t.match(refused({ voice: { tts: { calm_for: [bad] } } }), [/^voice\.tts\.calm_for\.0: an emotion label/], JSON.stringify(bad));
    t.match(refused({ voice: { proactive: { emotions: ['sad', bad] } } }), [/^voice\.proactive\.emotions\.1: an emotion label/]);
  }
  t.same(refused({ voice: { tts: { calm_for: ['sad', 'contempt'] }, proactive: { emotions: [] } } }), []);
  for (const bad of ['EN', 'en\u001b', 'english', 'e']) t.match(refused({ voice: { listen: { language: bad } } }), [/^voice\.listen\.language: an ISO-639-1 code/], JSON.stringify(bad));
  for (const good of ['', 'en', 'de']) t.same(refused({ voice: { listen: { language: good } } }), [], good);
});
