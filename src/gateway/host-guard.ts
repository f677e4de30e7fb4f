import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/node';
import type { RequestHandler } from 'express';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The hostnames MCP requests may be addressed to, against DNS rebinding: the
 * loopback names when the gateway listens on loopback, plus PUBLIC_URL's host.
 * Undefined when nothing narrower than "any" can be known (a public bind
 * without PUBLIC_URL), in which case the operator's proxy must check hosts.
 */
export function allowedHostnames(host: string, publicUrl: string | undefined): string[] | undefined {
  const names = LOOPBACK_HOSTS.has(host) ? ['localhost', '127.0.0.1', '[::1]'] : [];
  if (publicUrl) names.push(new URL(publicUrl).hostname);
  return names.length > 0 ? names : undefined;
}

/** Refuses requests whose Host, or Origin when a browser sends one, is not an allowed name (403). */
export function createHostGuard(hostnames: string[] | undefined): RequestHandler {
  if (!hostnames) return (_req, _res, next) => next();
  const host = hostHeaderValidation(hostnames);
  const origin = originValidation(hostnames);
  return (req, res, next) => {
    if (host(req, res) && origin(req, res)) next();
  };
}
