import type { Config } from './shared/config.ts';
import type { Db } from './shared/db.ts';
import type { Logger } from './shared/logger.ts';
import { createBotsModule, type BotsModule } from './bots/index.ts';
import { createServersModule, type SecretKeySource, type ServersModule } from './servers/index.ts';
import { createAuditWriter, createTenancyModule, type AuditWriter, type TenancyModule } from './tenancy/index.ts';
import { createOperatorCommands, type OperatorCommands } from './gateway/index.ts';

export interface Modules {
  tenancy: TenancyModule;
  servers: ServersModule;
  bots: BotsModule;
  auditWriter: AuditWriter;
  commands: OperatorCommands;
  /** Writes queued audit events and closes running tool sources. */
  close(): Promise<void>;
}

/** Wires the modules once, for the gateway and for the CLI alike. */
export function composeModules({
  config,
  db,
  logger,
  secretKey,
}: {
  config: Config;
  db: Db;
  logger: Logger;
  secretKey: SecretKeySource;
}): Modules {
  const tenancy = createTenancyModule({ db });
  const servers = createServersModule({
    db,
    logger,
    secretKey,
    policy: {
      dataDir: config.dataDir,
      fsRoots: config.fsRoots,
      allowPrivateNetworks: config.allowPrivateNetworks,
      stdioCommands: config.stdioCommands,
    },
  });
  const bots = createBotsModule({ db, secretKey });
  const auditWriter = createAuditWriter({ db, logger });
  return {
    tenancy,
    servers,
    bots,
    auditWriter,
    commands: createOperatorCommands({ tenancy, servers, bots }),
    async close() {
      await servers.sources.close();
      await auditWriter.close();
    },
  };
}
