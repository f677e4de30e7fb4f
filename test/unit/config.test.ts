import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';

const SECRET = 'ab'.repeat(32);

/** The ConfigError thrown for `env`, so a test can read its message. */
function configErrorFor(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: path.resolve('./data'),
      databaseUrl: undefined,
      redisUrl: undefined,
      anthropicApiKey: undefined,
      anthropicBaseUrl: undefined,
      secretKey: undefined,
      publicUrl: undefined,
      logLevel: 'info',
      bodyLimit: '1mb',
      upstreamMessageLimit: 16 * 1024 * 1024,
      summaryModel: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable it knows and ignores the rest of the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/botgate',
      DATABASE_URL: 'postgresql://app@db:5432/botgate',
      REDIS_URL: 'rediss://cache:6380',
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999',
      BOTGATE_SECRET_KEY: SECRET,
      PUBLIC_URL: 'https://gate.example.com/',
      LOG_LEVEL: 'debug',
      BOTGATE_BODY_LIMIT: '512kb',
      BOTGATE_UPSTREAM_MESSAGE_LIMIT: '64MB',
      BOTGATE_SUMMARY_MODEL: 'claude-sonnet-4-5',
      PATH: '/usr/bin',
    });

    expect(config).not.toHaveProperty('PATH');
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/botgate',
      databaseUrl: 'postgresql://app@db:5432/botgate',
      redisUrl: 'rediss://cache:6380',
      anthropicApiKey: 'sk-ant-test',
      anthropicBaseUrl: 'http://127.0.0.1:9999',
      secretKey: SECRET,
      publicUrl: 'https://gate.example.com',
      logLevel: 'debug',
      bodyLimit: '512kb',
      upstreamMessageLimit: 64 * 1024 * 1024,
      summaryModel: 'claude-sonnet-4-5',
    });
  });

  it.each([
    ['2kb', 2048],
    ['1024b', 1024],
    ['1024mb', 1024 * 1024 * 1024],
  ])('reads BOTGATE_UPSTREAM_MESSAGE_LIMIT=%s as %i bytes', (value, bytes) => {
    expect(loadConfig({ BOTGATE_UPSTREAM_MESSAGE_LIMIT: value }).upstreamMessageLimit).toBe(bytes);
  });

  it.each([
    ['16 MB', 'must look like 512kb or 16mb'],
    ['16gb', 'must look like 512kb or 16mb'],
    ['1023b', 'must be from 1kb to 1024mb'],
    ['1025mb', 'must be from 1kb to 1024mb'],
  ])('refuses BOTGATE_UPSTREAM_MESSAGE_LIMIT=%s, saying why', (value, reason) => {
    expect(configErrorFor({ BOTGATE_UPSTREAM_MESSAGE_LIMIT: value }).message).toContain(`BOTGATE_UPSTREAM_MESSAGE_LIMIT: ${reason}`);
  });

  it('reads BOTGATE_METRICS_TOKEN, and leaves metrics off without it', () => {
    const token = 'f'.repeat(64);
    expect(loadConfig({ BOTGATE_METRICS_TOKEN: token }).metricsToken).toBe(token);
    expect(loadConfig({}).metricsToken).toBeUndefined();
  });

  it.each([
    ['short-token', 'must be at least 32 characters'],
    [`${'a'.repeat(20)} ${'b'.repeat(20)}`, 'must be visible ASCII characters, no spaces'],
    ['x'.repeat(513), 'must be at most 512 characters'],
  ])('refuses BOTGATE_METRICS_TOKEN=%s, saying why', (value, reason) => {
    expect(configErrorFor({ BOTGATE_METRICS_TOKEN: value }).message).toContain(`BOTGATE_METRICS_TOKEN: ${reason}`);
  });

  it('reads BOTGATE_MAX_SERVERS_PER_TENANT, leaving the default to the servers module when unset', () => {
    expect(loadConfig({ BOTGATE_MAX_SERVERS_PER_TENANT: '250' }).maxServersPerTenant).toBe(250);
    expect(loadConfig({}).maxServersPerTenant).toBeUndefined();
  });

  it.each([
    ['ten', 'must be a whole number'],
    ['0', 'must be between 1 and 10000'],
    ['10001', 'must be between 1 and 10000'],
  ])('refuses BOTGATE_MAX_SERVERS_PER_TENANT=%s, saying why', (value, reason) => {
    expect(configErrorFor({ BOTGATE_MAX_SERVERS_PER_TENANT: value }).message).toContain(`BOTGATE_MAX_SERVERS_PER_TENANT: ${reason}`);
  });

  it('reads BOTGATE_MAX_STREAMS_PER_TENANT, leaving the default to the MCP routes when unset', () => {
    expect(loadConfig({ BOTGATE_MAX_STREAMS_PER_TENANT: '2000' }).maxStreamsPerTenant).toBe(2000);
    expect(loadConfig({}).maxStreamsPerTenant).toBeUndefined();
  });

  it.each([
    ['many', 'must be a whole number'],
    ['-5', 'must be a whole number'],
    ['0', 'must be between 1 and 100000'],
    ['100001', 'must be between 1 and 100000'],
  ])('refuses BOTGATE_MAX_STREAMS_PER_TENANT=%s, saying why', (value, reason) => {
    expect(configErrorFor({ BOTGATE_MAX_STREAMS_PER_TENANT: value }).message).toContain(`BOTGATE_MAX_STREAMS_PER_TENANT: ${reason}`);
  });

  it('reads BOTGATE_ALLOW_PRIVATE_NETWORKS as ranges, a lone address being that one address', () => {
    expect(loadConfig({ BOTGATE_ALLOW_PRIVATE_NETWORKS: ' 127.0.0.0/8, 10.1.2.3 ,::1' }).allowPrivateNetworks).toEqual(['127.0.0.0/8', '10.1.2.3', '::1']);
    expect(loadConfig({}).allowPrivateNetworks).toEqual([]);
  });

  it.each(['127.0.0.1/', '10.0.0.0/99', '10.0.0.0/8/8', 'localhost', '10.0.0.0/ 8', '10.0.0.0/0x8'])(
    'refuses BOTGATE_ALLOW_PRIVATE_NETWORKS=%s, naming the entry, rather than allow more than meant',
    (value) => {
      const message = configErrorFor({ BOTGATE_ALLOW_PRIVATE_NETWORKS: value }).message;
      expect(message).toContain('BOTGATE_ALLOW_PRIVATE_NETWORKS: must be a comma-separated list of CIDRs');
      expect(message).toContain(`"${value.trim()}"`);
    },
  );

  it('reads BOTGATE_FS_QUOTA as bytes, leaving the default to the servers module when unset', () => {
    expect(loadConfig({ BOTGATE_FS_QUOTA: '10gb' }).fsQuotaBytes).toBe(10 * 1024 ** 3);
    expect(loadConfig({ BOTGATE_FS_QUOTA: '500MB' }).fsQuotaBytes).toBe(500 * 1024 ** 2);
    expect(loadConfig({}).fsQuotaBytes).toBeUndefined();
  });

  it.each([
    ['10', 'must look like 500mb or 10gb'],
    ['1tb', 'must look like 500mb or 10gb'],
    ['512kb', 'must be from 1mb to 16384gb'],
    ['16385gb', 'must be from 1mb to 16384gb'],
  ])('refuses BOTGATE_FS_QUOTA=%s, saying why', (value, reason) => {
    expect(configErrorFor({ BOTGATE_FS_QUOTA: value }).message).toContain(`BOTGATE_FS_QUOTA: ${reason}`);
  });

  it('treats empty strings as unset, so PORT= does not become port 0', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', BOTGATE_SECRET_KEY: '', LOG_LEVEL: '', HOST: '' });

    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.secretKey).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.host).toBe('127.0.0.1');
  });

  it.each([
    ['PORT', 'http'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://root@localhost/botgate'],
    ['DATABASE_URL', '/var/run/postgresql'],
    ['BOTGATE_SECRET_KEY', 'ab'.repeat(16)],
    ['BOTGATE_SECRET_KEY', 'zz'.repeat(32)],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO'],
    ['BOTGATE_SUMMARY_MODEL', 'claude haiku'],
    ['BOTGATE_SUMMARY_MODEL', '-claude-haiku-4-5'],
  ])('refuses %s=%s with a ConfigError naming the variable', (variable, value) => {
    const error = configErrorFor({ [variable]: value });

    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(`${variable}:`);
  });

  it('does not echo a bad secret back in the error message', () => {
    const badSecret = 'f'.repeat(63);

    const error = configErrorFor({ BOTGATE_SECRET_KEY: badSecret });

    expect(error.message).toContain('BOTGATE_SECRET_KEY: must be 64 hex characters');
    expect(error.message).not.toContain(badSecret);
  });

  it('names every bad variable at once', () => {
    const error = configErrorFor({ PORT: 'x', LOG_LEVEL: 'loud', DATABASE_URL: 'sqlite:foo' });

    expect(error.message).toContain('PORT:');
    expect(error.message).toContain('LOG_LEVEL:');
    expect(error.message).toContain('DATABASE_URL:');
  });
});
