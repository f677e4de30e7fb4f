import fs from 'node:fs/promises';
import { startRecordingMcpServer, type RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { makeDataDir, startGateway, type GatewayProcess } from './gateway-process.ts';
import { operatorCommand, seedTenant } from './http.ts';

/** A gateway with the tenant `acme`, its admin key, and the recording fake upstream as its remote server `rec`. */
export interface RecordedGateway {
  gateway: GatewayProcess;
  upstream: RecordingMcpServer;
  dataDir: string;
  key: string;
  stop(): Promise<void>;
}

export async function startRecordedGateway(): Promise<RecordedGateway> {
  const dataDir = await makeDataDir();
  const [gateway, upstream] = await Promise.all([
    startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }),
    startRecordingMcpServer(),
  ]);
  const key = (await seedTenant(dataDir, 'acme')).key.secret;
  await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'rec', kind: 'remote', config: { url: upstream.url } });
  return {
    gateway,
    upstream,
    dataDir,
    key,
    async stop() {
      await Promise.all([gateway.stop(), upstream.close()]);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
