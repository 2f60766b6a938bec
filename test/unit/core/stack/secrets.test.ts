// Unit tests for src/core/stack/secrets.ts: which environment variables the exports treat as secrets.
import * as assert from 'node:assert/strict';
import { isSecretEnv, secretEnvNames } from '../../../../src/core/stack/secrets';

describe('secret environment variables (unit)', () => {
  it('matches tokens, keys, passwords and credentials by name', () => {
    for (const name of [
      'HF_TOKEN',
      'HUGGING_FACE_HUB_TOKEN',
      'OPENAI_API_KEY',
      'OPENAI_API_KEYS',
      'API_KEY',
      'APIKEY',
      'WEBUI_SECRET_KEY',
      'AWS_SECRET_ACCESS_KEY',
      'POSTGRES_PASSWORD',
      'DB_PASSWD',
      'DB_PASS',
      'MYSQL_PWD',
      'GOOGLE_CREDENTIALS',
      'AUTH_TOKEN',
      'AUTH',
      'LLAMA_ARG_API_KEY',
      'hfToken',
      'apiKey',
    ]) {
      assert.equal(isSecretEnv(name, 'abc123'), true, name);
      assert.equal(isSecretEnv(name), true, name);
    }
  });

  it('leaves counts, paths, ids, switches and ordinary settings alone', () => {
    for (const name of [
      'MAX_TOKENS',
      'MAX_TOTAL_TOKENS',
      'TOKENIZER',
      'OLLAMA_KEEP_ALIVE',
      'OLLAMA_BASE_URL',
      'HF_TOKEN_PATH',
      'SSL_KEY_FILE',
      'AWS_ACCESS_KEY_ID',
      'AUTH_TYPE',
      'WEBUI_AUTH_ENABLED',
      'PWD',
      'PATH',
      'MONKEY',
      'TOKEN_LIMIT',
      '',
    ]) {
      assert.equal(isSecretEnv(name, 'abc123'), false, name);
    }
    for (const value of ['False', 'true', '0', '1', 'no', 'ON', '', '  ']) assert.equal(isSecretEnv('WEBUI_AUTH', value), false, value);
  });

  it('lists the secret names of an environment in its order', () => {
    assert.deepEqual(secretEnvNames({ A: '1', HF_TOKEN: 'hf_x', WEBUI_AUTH: 'false', OPENAI_API_KEY: 'sk-1', EMPTY_TOKEN: '' }), ['HF_TOKEN', 'OPENAI_API_KEY']);
  });
});
