import type http from 'node:http';

/** A request's whole body as text. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.once('end', () => resolve(body));
    req.once('error', reject);
  });
}

/** A body parsed as a JSON object; undefined when it is empty, not JSON, or not an object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const body: unknown = text ? JSON.parse(text) : undefined;
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
