import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';

describe('BOTGATE_OAUTH_CLIENTS', () => {
  it('is empty by default and parses pre-registered clients', () => {
    expect(loadConfig({}).oauthClients).toEqual([]);
    const clients = [
      { client_id: 'desktop', client_name: 'Desktop', redirect_uris: ['http://127.0.0.1/callback'], application_type: 'native' },
      { client_id: 'web', redirect_uris: ['https://app.example/cb'], client_secret: 's'.repeat(40), token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'agent', redirect_uris: ['https://agent.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://agent.example/jwks.json' },
    ];
    expect(loadConfig({ BOTGATE_OAUTH_CLIENTS: JSON.stringify(clients) }).oauthClients).toEqual(clients);
  });

  it('names the variable and the problem when it is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /BOTGATE_OAUTH_CLIENTS: must be a JSON array/],
      [JSON.stringify([{ client_id: 'x' }]), /BOTGATE_OAUTH_CLIENTS: 0\.redirect_uris/],
      [JSON.stringify([{ client_id: 'x', redirect_uris: ['not a url'] }]), /BOTGATE_OAUTH_CLIENTS: 0\.redirect_uris\.0/],
      [JSON.stringify([{ client_id: 'x', redirect_uris: ['https://a.example/cb'], typo: 1 }]), /BOTGATE_OAUTH_CLIENTS/],
      [JSON.stringify([{ client_id: 'x', redirect_uris: ['https://a.example/cb'], client_secret: 'short' }]), /client_secret/],
      [JSON.stringify([{ client_id: 'x', redirect_uris: ['https://a.example/cb'] }, { client_id: 'x', redirect_uris: ['https://b.example/cb'] }]), /client_id x appears twice/],
      [JSON.stringify([{ client_id: 'x', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'private_key_jwt' }]), /0\.jwks_uri: jwks_uri is required with/],
      [JSON.stringify([{ client_id: 'x', redirect_uris: ['https://a.example/cb'], jwks_uri: 'https://a.example/jwks.json' }]), /0\.jwks_uri: jwks_uri is required with/],
      [
        JSON.stringify([{ client_id: 'x', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://a.example/jwks.json' }]),
        /0\.jwks_uri: must be an https URL/,
      ],
    ];
    for (const [value, message] of cases) {
      let thrown: unknown;
      try {
        loadConfig({ BOTGATE_OAUTH_CLIENTS: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect({ value, message: (thrown as Error).message }).toEqual({ value, message: expect.stringMatching(message) });
    }
  });
});

describe('BOTGATE_OAUTH_METADATA_DOCUMENTS', () => {
  it('is on by default, and takes on or off only', () => {
    expect(loadConfig({}).oauthMetadataDocuments).toBe(true);
    expect(loadConfig({ BOTGATE_OAUTH_METADATA_DOCUMENTS: 'on' }).oauthMetadataDocuments).toBe(true);
    expect(loadConfig({ BOTGATE_OAUTH_METADATA_DOCUMENTS: 'off' }).oauthMetadataDocuments).toBe(false);
    expect(() => loadConfig({ BOTGATE_OAUTH_METADATA_DOCUMENTS: 'false' })).toThrow(
      new ConfigError('invalid configuration: BOTGATE_OAUTH_METADATA_DOCUMENTS: must be on or off'),
    );
  });
});

describe('BOTGATE_OAUTH_ACCESS_TOKEN_TTL', () => {
  it('is ten minutes by default and takes whole seconds up to a day', () => {
    expect(loadConfig({}).oauthAccessTokenTtl).toBe(600);
    expect(loadConfig({ BOTGATE_OAUTH_ACCESS_TOKEN_TTL: '' }).oauthAccessTokenTtl).toBe(600);
    expect(loadConfig({ BOTGATE_OAUTH_ACCESS_TOKEN_TTL: '1' }).oauthAccessTokenTtl).toBe(1);
    expect(loadConfig({ BOTGATE_OAUTH_ACCESS_TOKEN_TTL: '86400' }).oauthAccessTokenTtl).toBe(86_400);
  });

  it('names the variable and the problem when it is wrong', () => {
    const cases: Array<[string, string]> = [
      ['0', 'must be from 1 to 86400 seconds'],
      ['86401', 'must be from 1 to 86400 seconds'],
      ['10m', 'must be a whole number of seconds'],
      ['1.5', 'must be a whole number of seconds'],
      ['-60', 'must be a whole number of seconds'],
    ];
    for (const [value, message] of cases) {
      expect(() => loadConfig({ BOTGATE_OAUTH_ACCESS_TOKEN_TTL: value })).toThrow(new ConfigError(`invalid configuration: BOTGATE_OAUTH_ACCESS_TOKEN_TTL: ${message}`));
    }
  });
});
