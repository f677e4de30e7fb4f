import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Sends `req` on to `target` over `agent`, and its answer (JSON or an event stream) back through `res`, as bytes. */
export function pipeRequest(req: http.IncomingMessage, res: http.ServerResponse, target: URL, agent: http.Agent): void {
  const forwarded = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host }, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forwarded.once('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forwarded);
}

export interface RoundRobinProxy {
  /** The proxy's origin: paths are passed on as they are. */
  url: string;
  /** The index of the target each `tools/call` request went to, in order. */
  toolCalls: number[];
  close(): Promise<void>;
}

/**
 * A load balancer in front of several gateway replicas: each request goes to
 * the next target in turn, piped both ways. Tool calls take turns among
 * themselves, so a call and its retry always reach different replicas.
 */
export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  const agent = new http.Agent({ keepAlive: true });
  const toolCalls: number[] = [];
  let nextCall = 0;
  let nextOther = 0;
  const server = http.createServer((req, res) => {
    const isToolCall = req.headers['mcp-method'] === 'tools/call';
    const index = isToolCall ? nextCall++ % targets.length : nextOther++ % targets.length;
    if (isToolCall) toolCalls.push(index);
    pipeRequest(req, res, new URL(req.url ?? '/', targets[index]), agent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    toolCalls,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}
