import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/bots/index.ts';
import { describeRunFailure } from '../../src/gateway/bots/bot-ask.ts';

describe('describeRunFailure', () => {
  it('tells the caller to try again later when the trouble passes', () => {
    const message = describeRunFailure(new ModelError('connection', 'Could not reach the Anthropic API: Connection error.'));
    expect(message).toBe('The bot could not answer: Could not reach the Anthropic API: Connection error. Nothing of this turn was saved; try again later.');
  });

  it('does not tell the caller to try again when the request itself is refused', () => {
    const invalid = describeRunFailure(new ModelError('invalid_request', "Anthropic API error (400 invalid_request_error): tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"));
    expect(invalid).toMatch(/should match pattern .*\. Nothing of this turn was saved; asking again will fail the same way until an admin of the tenant changes the bot\.$/);
    expect(describeRunFailure(new ModelError('authentication', 'Anthropic API error (401 authentication_error): invalid x-api-key'))).toMatch(
      /API key was refused, and will be until an admin of the tenant sets a valid one\.$/,
    );
  });

  it('leaves a cancellation to be rethrown', () => {
    expect(describeRunFailure(new ModelError('cancelled', 'The model call was cancelled'))).toBeUndefined();
  });
});
