import type { Tool } from '@modelcontextprotocol/server';
import { withTenant, type Db } from '../../shared/db.ts';
import { recordAudit, type RequestContext } from '../../tenancy/index.ts';
import { UpstreamError } from '../remote/index.ts';
import type { NotifyToolsChanged } from '../list-changes.ts';
import { errorResult, ToolError, unavailableResult, type ToolCallOutcome, type ToolSource } from '../tool-source.ts';
import { definitionOf, diffDefinitions, digestDefinition, type ToolDefinition } from './tool-definition.ts';
import { insertToolPin, listToolPins, markToolPending } from './tool-pin.repository.ts';

export interface PinnedSourceOptions<S extends ToolSource<ToolCallOutcome>> {
  /** The upstream whose tool definitions are pinned. */
  source: S;
  db: Db;
  tenantId: string;
  serverId: string;
  serverSlug: string;
  /** Who the audit trail names for changes the gateway itself notices. */
  auditContext: RequestContext;
  /** Told after a changed definition is recorded as pending: the tool is withheld from now on. */
  notifyToolsChanged?: NotifyToolsChanged;
}

interface Seen {
  tool: Tool;
  definition: ToolDefinition;
  digest: string;
}

/** What a model is told when it calls a withheld tool. */
function withheldToolMessage(tool: string, serverSlug: string): string {
  return (
    `The tool "${tool}" is withheld: its definition on server "${serverSlug}" changed since it was approved, ` +
    `and the change awaits an admin's approval (POST /api/v1/servers/${serverSlug}/approve-tools). ` +
    'Do not retry it until an admin has approved the change.'
  );
}

/**
 * Wraps an upstream so that only tools matching their pinned definitions are
 * listed or called. A tool seen for the first time is pinned as it is; a
 * changed definition is recorded as pending (audited once per distinct
 * change) and the tool withheld until an admin approves it. Digests already
 * verified are kept in memory, so an unchanged list costs no database work.
 * Every other method of the source (resources, prompts) passes through.
 */
export function createPinnedSource<S extends ToolSource<ToolCallOutcome>>(options: PinnedSourceOptions<S>): S {
  const { source, db, tenantId, serverId, serverSlug, auditContext, notifyToolsChanged } = options;
  // Tool name → digest of the definition last listed and found pinned; replaced on every list.
  let verified = new Map<string, string>();
  // Tools the last list withheld, so a call to one is refused with the reason.
  let withheld = new Set<string>();

  /**
   * Compares definitions not verified yet with their pins, in one short
   * transaction; returns the names that match, and whether this call newly
   * withheld a tool (so listeners are told once per change, on whichever node noticed it).
   */
  function checkPins(unverified: Seen[]): Promise<{ matching: Set<string>; newlyPending: boolean }> {
    return withTenant(db, tenantId, async (trx) => {
      const names = unverified.map((seen) => seen.tool.name);
      const pins = new Map((await listToolPins(trx, tenantId, serverId, { names })).map((pin) => [pin.toolName, pin]));
      const matching = new Set<string>();
      let newlyPending = false;
      for (const { tool, definition, digest } of unverified) {
        const candidate = { tenantId, serverId, toolName: tool.name, digest, definition };
        let pin = pins.get(tool.name);
        if (!pin) {
          // First seen is trusted: the admin chose this upstream.
          if (await insertToolPin(trx, candidate)) {
            matching.add(tool.name);
            continue;
          }
          // Pinned meanwhile by another request: judge against what it pinned.
          [pin] = await listToolPins(trx, tenantId, serverId, { names: [tool.name] });
          if (!pin) continue;
        }
        if (pin.digest === digest) {
          matching.add(tool.name);
          continue;
        }
        // Already pending: nothing to write. Otherwise the conditional update makes the
        // record and its audit event happen once per distinct change, across requests and nodes.
        if (pin.pendingDigest !== digest && (await markToolPending(trx, candidate))) {
          newlyPending = true;
          await recordAudit(trx, tenantId, auditContext, {
            action: 'tool.definition_changed',
            resourceType: 'server',
            resourceId: serverId,
            before: { server: serverSlug, tool: tool.name, sha256: pin.digest, definition: pin.definition },
            after: {
              server: serverSlug,
              tool: tool.name,
              sha256: digest,
              definition,
              changes: diffDefinitions(pin.definition, definition),
            },
          });
        }
      }
      return { matching, newlyPending };
    });
  }

  async function listTools(signal: AbortSignal): Promise<Tool[]> {
    const tools = await source.listTools(signal);
    const counts = new Map<string, number>();
    for (const tool of tools) counts.set(tool.name, (counts.get(tool.name) ?? 0) + 1);
    // A name listed twice could show one definition and run another: neither is trusted.
    const seen: Seen[] = tools
      .filter((tool) => counts.get(tool.name) === 1)
      .map((tool) => {
        const definition = definitionOf(tool);
        return { tool, definition, digest: digestDefinition(definition) };
      });
    const unverified = seen.filter((s) => verified.get(s.tool.name) !== s.digest);
    const { matching, newlyPending } = unverified.length > 0 ? await checkPins(unverified) : { matching: new Set<string>(), newlyPending: false };
    if (newlyPending) notifyToolsChanged?.(tenantId, serverSlug);
    const passed = seen.filter((s) => verified.get(s.tool.name) === s.digest || matching.has(s.tool.name));
    verified = new Map(passed.map((s) => [s.tool.name, s.digest]));
    withheld = new Set(tools.map((tool) => tool.name).filter((name) => !verified.has(name)));
    return passed.map((s) => s.tool);
  }

  return {
    ...source,
    listTools,

    async callTool(name, args, context) {
      if (!verified.has(name)) {
        // Not listed through this source yet (another node listed, or the gateway restarted): check now.
        try {
          await listTools(context.signal);
        } catch (error) {
          if (error instanceof UpstreamError && error.failure === 'unavailable') return unavailableResult(error.message);
          if (error instanceof UpstreamError || error instanceof ToolError) return errorResult(error.message);
          throw error;
        }
      }
      if (verified.has(name)) return source.callTool(name, args, context);
      if (withheld.has(name)) return errorResult(withheldToolMessage(name, serverSlug));
      // As the upstream itself would answer: a tool error the model can act on, and nothing sent upstream.
      return errorResult(`Unknown tool: ${name}. The server ${serverSlug} does not offer it.`);
    },
  };
}
