/**
 * Secrets come only from the environment (systemd's EnvironmentFile=/etc/emobot/secrets.env), never
 * from the YAML file, so the config can be shared, diffed and published over MQTT without leaking them.
 */
export interface Secrets {
  openaiApiKey?: string;
  elevenlabsApiKey?: string;
  mqttPassword?: string;
  /** Opens the web page to other machines than the robot itself (web.host beyond loopback). */
  webToken?: string;
}

export const SECRET_ENV_VARS = {
  openaiApiKey: 'OPENAI_API_KEY',
  elevenlabsApiKey: 'ELEVENLABS_API_KEY',
  mqttPassword: 'EMOBOT_MQTT_PASSWORD',
  webToken: 'EMOBOT_WEB_TOKEN',
} as const satisfies Record<keyof Secrets, string>;

/**
 * The values of the secret variables, for the logger to blank out wherever they appear (an error
 * quoting a file or a URL could carry one under any field name). Very short values are left out:
 * blanking every "k" would make the log unreadable, and such a value protects nothing anyway.
 */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.values(readSecrets(env)).filter((value) => value.length >= 6);
}

export function readSecrets(env: NodeJS.ProcessEnv = process.env): Secrets {
  const secrets: Secrets = {};
  for (const [field, variable] of Object.entries(SECRET_ENV_VARS) as [keyof Secrets, string][]) {
    const value = env[variable]?.trim();
    if (value) secrets[field] = value;
  }
  return secrets;
}
