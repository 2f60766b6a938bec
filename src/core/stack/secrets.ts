// Which environment variables hold secrets (tokens, keys, passwords): the one rule every export and
// the running-stack export use to leave values out of the files they write.

/** Name parts that mark a secret (HF_TOKEN, OPENAI_API_KEY, WEBUI_SECRET_KEY, DB_PASSWORD, …). */
const SECRET_PARTS = new Set([
  'TOKEN',
  'KEY',
  'KEYS',
  'APIKEY',
  'SECRET',
  'SECRETS',
  'PASSWORD',
  'PASSWD',
  'PASS',
  'PASSPHRASE',
  'PWD',
  'CREDENTIAL',
  'CREDENTIALS',
  'CREDS',
  'AUTH',
  'AUTHORIZATION',
]);

/**
 * Last parts that make the variable about a secret rather than one: where it lives (HF_TOKEN_PATH,
 * SSL_KEYFILE), whom or what it names (AWS_ACCESS_KEY_ID, AUTH_TYPE), whether it is on (WEBUI_AUTH_ENABLED).
 */
const DESCRIPTOR_PARTS = new Set(['FILE', 'PATH', 'DIR', 'ID', 'TYPE', 'MODE', 'METHOD', 'PROVIDER', 'ENABLED', 'DISABLED', 'HEADER', 'NAME', 'USER', 'USERNAME', 'URL', 'HOST', 'PORT', 'TTL', 'EXPIRY', 'LENGTH', 'SIZE', 'LIMIT', 'COUNT', 'TIMEOUT']);

/** Values that cannot be a secret: switches and nothing. */
const NOT_A_SECRET = /^(|true|false|yes|no|on|off|0|1)$/i;

/** "OPENAI_API_KEY" → ["OPENAI", "API", "KEY"]; "hfToken" → ["HF", "TOKEN"]. */
function nameParts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
}

/**
 * Whether an environment variable holds a secret: a part of its name says so (TOKEN, KEY, SECRET,
 * PASSWORD, PASSWD, CREDENTIAL, AUTH, …; HF_TOKEN and API_KEY included) and its last part does not
 * make it about one (…_FILE, …_ID, …_TYPE). With a value, switches ("true", "0") and empty values
 * are not secrets: WEBUI_AUTH=False configures, it hides nothing. MAX_TOKENS-like counts never match.
 */
export function isSecretEnv(name: string, value?: string): boolean {
  if (value !== undefined && NOT_A_SECRET.test(value.trim())) return false;
  const parts = nameParts(name);
  // PWD alone is the shell's working directory.
  if (!parts.length || name === 'PWD' || DESCRIPTOR_PARTS.has(parts[parts.length - 1])) return false;
  return parts.some((p) => SECRET_PARTS.has(p));
}

/** The names of the secret variables of an environment, in its order. */
export function secretEnvNames(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env)
    .filter(([k, v]) => isSecretEnv(k, v))
    .map(([k]) => k);
}
