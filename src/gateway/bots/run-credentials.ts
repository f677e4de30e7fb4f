import { randomBytes } from 'node:crypto';
import type { Principal } from '../../tenancy/index.ts';

/** What a running bot may do through the gateway's MCP path, and where it sits in a call chain. */
export interface RunGrant {
  /** The caller's principal narrowed to the bot's attachments: what the run's own calls may do. */
  principal: Principal;
  /** The principal that started the chain: bots the run asks act for it, within their own attachments. */
  origin: Principal;
  runId: string;
  /** Bot slugs from the first caller to this run's bot. */
  chain: readonly string[];
}

/** Short-lived credentials a bot run presents to the gateway's own MCP endpoint. */
export interface RunCredentials {
  issue(grant: RunGrant): string;
  resolve(token: string): RunGrant | undefined;
  revoke(token: string): void;
}

/** The prefix that tells a run credential from an API key. */
export const RUN_CREDENTIAL_PREFIX = 'bgr_';

/** Longest a run credential lives, even if its run never ends. */
const MAX_LIFETIME_MS = 60 * 60 * 1000;

/**
 * Run credentials held in this process's memory: a bot's tool client calls
 * the node it runs on (loopback), so no other node ever needs to resolve one.
 * 256 random bits each; revoked when the run ends.
 */
export function createRunCredentials(now: () => number = Date.now): RunCredentials {
  const grants = new Map<string, { grant: RunGrant; expiresAt: number }>();

  function sweep() {
    const time = now();
    for (const [token, entry] of grants) if (entry.expiresAt <= time) grants.delete(token);
  }

  return {
    issue(grant) {
      sweep();
      const token = `${RUN_CREDENTIAL_PREFIX}${randomBytes(32).toString('base64url')}`;
      grants.set(token, { grant, expiresAt: now() + MAX_LIFETIME_MS });
      return token;
    },
    resolve(token) {
      const entry = grants.get(token);
      if (!entry) return undefined;
      if (entry.expiresAt <= now()) {
        grants.delete(token);
        return undefined;
      }
      return entry.grant;
    },
    revoke(token) {
      grants.delete(token);
    },
  };
}
