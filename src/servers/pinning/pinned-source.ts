import type { Tool } from '@modelcontextprotocol/server';
import { withTenant, type Db } from '../../shared/db.ts';
import { recordAudit, type RequestContext } from '../../tenancy/index.ts';
import { UpstreamError } from '../remote/index.ts';
import type { NotifyToolsChanged } from '../list-changes.ts';
import { errorResult, ToolError, unavailableResult, unknownToolResult, type ToolCallOutcome, type ToolSource } from '../tool-source.ts';
import { definitionChangeAudit } from './definition-audit.ts';
import { checkInstructions, checkListedTools, INSTRUCTIONS_PIN, type PinnableTool, type RefusedTool } from './tool-check.ts';
import { cutText } from './tool-definition.ts';
import { insertToolPin, listToolPins, markToolPending, measureToolPins } from './tool-pin.repository.ts';

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
  /** The most tools, and bytes of their definitions, kept pinned for the server; `PIN_LIMITS` by default. */
  limits?: PinLimits;
}

/** See `PinnedSourceOptions.limits`. */
export interface PinLimits {
  tools: number;
  bytes: number;
}

/**
 * While a change awaits approval, a different one replaces it (and is
 * audited) at most this often; a refused tool is audited at most this often
 * per source. An upstream changing its tools at every listing so costs the
 * database a bounded amount an hour, whoever lists.
 */
const REAUDIT_INTERVAL_MS = 60 * 60_000;
/**
 * The most tools, and bytes of their definitions, one server may have pinned.
 * Pins are kept for tools the upstream no longer lists too, so an upstream
 * listing new tools at every listing would otherwise grow them without end.
 */
export const PIN_LIMITS: PinLimits = { tools: 2_000, bytes: 32 * 1024 * 1024 };

/** Why a new tool of `bytes` cannot be pinned beside what the server keeps; undefined when it can. */
function pinLimitReason(limits: PinLimits, kept: { count: number; bytes: number }, bytes: number): string | undefined {
  if (kept.count >= limits.tools) return `the server already has ${limits.tools.toLocaleString('en-US')} tools pinned, the most the gateway keeps for one server`;
  if (kept.bytes + bytes > limits.bytes) {
    return `the server's pinned tool definitions already hold ${kept.bytes.toLocaleString('en-US')} bytes; with this one they would pass the ${limits.bytes.toLocaleString('en-US')} the gateway keeps for one server`;
  }
  return undefined;
}

/** Refused tool names a source remembers having audited; past this, further ones are withheld unaudited until some are forgotten. */
const MAX_REFUSALS_REMEMBERED = 1_000;

/** Why a tool the last listing withheld is withheld: a change awaiting approval, or a reason no approval fixes. */
type Withholding = { awaitsApproval: true } | { awaitsApproval: false; reason: string };

/** A tool name as messages show it: quoted as JSON (no raw line breaks) and cut. */
function shownName(name: string): string {
  return JSON.stringify(cutText(name, 64));
}

/** What a model is told when it calls a withheld tool. */
function withheldToolMessage(tool: string, serverSlug: string, withholding: Withholding): string {
  if (!withholding.awaitsApproval) {
    return (
      `The tool ${shownName(tool)} of server "${serverSlug}" is withheld: ${withholding.reason}. ` +
      "The gateway does not offer it until the upstream fixes this, and an admin's approval cannot change that. Do not retry it."
    );
  }
  return (
    `The tool "${tool}" is withheld: its definition on server "${serverSlug}" changed since it was approved, ` +
    `and the change awaits an admin's approval (POST /api/v1/servers/${serverSlug}/approve-tools). ` +
    'Do not retry it until an admin has approved the change.'
  );
}

const REFUSED = Symbol('botgate.refusedTools');

/**
 * The tools the last listing through a pinned source withheld for a reason
 * no approval fixes (see `checkListedTools`), names cut to 64 characters for
 * display; none for any other source.
 */
export function refusedToolsOf(source: object): RefusedTool[] {
  const read = (source as { [REFUSED]?: () => RefusedTool[] })[REFUSED];
  return read ? read() : [];
}

/**
 * Wraps an upstream so that only tools matching their pinned definitions are
 * listed or called. A tool seen for the first time is pinned as it is; a
 * changed definition is recorded as pending (audited once per distinct
 * change, at most once an hour while one is pending) and the tool withheld
 * until an admin approves it. A tool that cannot be pinned at all (see
 * `checkListedTools`) is withheld alone, with its reason, and audited
 * compactly. Digests already verified are kept in memory, so an unchanged
 * list costs no database work. The upstream's instructions are pinned the
 * same way. Every other method of the source (resources, prompts) passes through.
 */
export function createPinnedSource<S extends ToolSource<ToolCallOutcome>>(options: PinnedSourceOptions<S>): S {
  const { source, db, tenantId, serverId, serverSlug, auditContext, notifyToolsChanged, limits = PIN_LIMITS } = options;
  // Tool name → digest of the definition last listed and found pinned; replaced on every list.
  let verified = new Map<string, string>();
  // Tools the last list withheld, and why, so a call to one is refused with the reason.
  let withheld = new Map<string, Withholding>();
  // Refused tool names (cut) → when this source last audited their refusal.
  const refusalsAudited = new Map<string, number>();

  /** The refusals of a listing to audit: those not audited by this source within the interval. */
  function refusalsToAudit(refused: RefusedTool[], now: number): RefusedTool[] {
    for (const [name, at] of refusalsAudited) if (now - at >= REAUDIT_INTERVAL_MS) refusalsAudited.delete(name);
    const room = MAX_REFUSALS_REMEMBERED - refusalsAudited.size;
    return refused.filter((tool) => !refusalsAudited.has(cutText(tool.name, 128))).slice(0, Math.max(room, 0));
  }

  /**
   * Compares definitions not verified yet with their pins, and audits new
   * refusals, in one short transaction; returns the names that match, and
   * whether this call newly withheld a tool (so listeners are told once per
   * change, on whichever node noticed it).
   */
  function checkPins(
    unverified: PinnableTool[],
    refusals: RefusedTool[],
  ): Promise<{ matching: Set<string>; newlyPending: boolean; overLimit: Map<string, string> }> {
    return withTenant(db, tenantId, async (trx) => {
      const names = unverified.map((seen) => seen.tool.name);
      const pins = new Map((await listToolPins(trx, tenantId, serverId, { names })).map((pin) => [pin.toolName, pin]));
      const matching = new Set<string>();
      // New tools not pinned because the server's pins are full, and why.
      const overLimit = new Map<string, string>();
      let newlyPending = false;
      const replacesBefore = new Date(Date.now() - REAUDIT_INTERVAL_MS);
      // What the server's pins hold already, read only when there are new tools to pin.
      let kept = unverified.some((seen) => !pins.has(seen.tool.name)) ? await measureToolPins(trx, tenantId, serverId) : { count: 0, bytes: 0 };
      for (const { tool, definition, digest, bytes } of unverified) {
        const candidate = { tenantId, serverId, toolName: tool.name, digest, definition };
        let pin = pins.get(tool.name);
        if (!pin) {
          const full = pinLimitReason(limits, kept, bytes);
          if (full) {
            overLimit.set(tool.name, full);
            continue;
          }
          // First seen is trusted: the admin chose this upstream.
          if (await insertToolPin(trx, candidate)) {
            kept = { count: kept.count + 1, bytes: kept.bytes + bytes };
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
        // Already pending, or another change pending since less than the interval: nothing to write.
        // Otherwise the conditional update makes the record and its audit event happen once per
        // distinct change, across requests and nodes.
        const mayRecord = pin.pendingDigest === null || (pin.pendingDigest !== digest && pin.updatedAt < replacesBefore);
        if (mayRecord && (await markToolPending(trx, candidate, replacesBefore))) {
          newlyPending = true;
          await recordAudit(trx, tenantId, auditContext, {
            action: 'tool.definition_changed',
            resourceType: 'server',
            resourceId: serverId,
            ...definitionChangeAudit(serverSlug, tool.name, { sha256: pin.digest, definition: pin.definition }, { sha256: digest, definition }),
          });
        }
      }
      for (const { name, reason, bytes, sha256 } of refusals) {
        await recordAudit(trx, tenantId, auditContext, {
          action: 'tool.definition_refused',
          resourceType: 'server',
          resourceId: serverId,
          after: { server: serverSlug, tool: cutText(name, 128), reason, ...(bytes !== undefined && { bytes, sha256 }) },
        });
      }
      return { matching, newlyPending, overLimit };
    });
  }

  async function listTools(signal: AbortSignal): Promise<Tool[]> {
    const { pinnable, refused } = checkListedTools(await source.listTools(signal));
    const unverified = pinnable.filter((s) => verified.get(s.tool.name) !== s.digest);
    const now = Date.now();
    const refusals = refusalsToAudit(refused, now);
    const { matching, newlyPending, overLimit } =
      unverified.length > 0 || refusals.length > 0
        ? await checkPins(unverified, refusals)
        : { matching: new Set<string>(), newlyPending: false, overLimit: new Map<string, string>() };
    for (const { name } of refusals) refusalsAudited.set(cutText(name, 128), now);
    if (newlyPending) notifyToolsChanged?.(tenantId, serverSlug);
    const passed = pinnable.filter((s) => verified.get(s.tool.name) === s.digest || matching.has(s.tool.name));
    verified = new Map(passed.map((s) => [s.tool.name, s.digest]));
    withheld = new Map<string, Withholding>([
      ...refused.map(({ name, reason }) => [name, { awaitsApproval: false, reason }] as const),
      ...pinnable
        .filter((s) => !verified.has(s.tool.name))
        .map((s): [string, Withholding] => {
          const reason = overLimit.get(s.tool.name);
          return [s.tool.name, reason === undefined ? { awaitsApproval: true } : { awaitsApproval: false, reason }];
        }),
    ]);
    return passed.map((s) => s.tool);
  }

  // Digest of the instructions last given and found pinned.
  let verifiedInstructions: string | undefined;

  /**
   * The upstream's instructions, pinned as its tools are (under
   * `INSTRUCTIONS_PIN`): changed text is not given, and the change awaits an
   * admin's approval, audited as a tool's would be; text that cannot be
   * pinned (too large, or the server's pins are full) is not given either.
   */
  async function pinnedInstructions(read: (signal: AbortSignal) => Promise<string | undefined>, signal: AbortSignal): Promise<string | undefined> {
    const text = await read(signal);
    if (text === undefined) return undefined;
    const checked = checkInstructions(text);
    if ('reason' in checked) return refuseInstructions(checked);
    if (verifiedInstructions !== checked.digest) {
      // Forgotten first: text approved once and replaced since is judged against the pin again.
      verifiedInstructions = undefined;
      const { matching, overLimit } = await checkPins([checked], []);
      const full = overLimit.get(INSTRUCTIONS_PIN);
      if (full !== undefined) return refuseInstructions({ name: INSTRUCTIONS_PIN, reason: full });
      if (!matching.has(INSTRUCTIONS_PIN)) return undefined;
      verifiedInstructions = checked.digest;
    }
    return text;
  }

  /** Gives no instructions that cannot be pinned, auditing why as a refused tool's is audited. */
  async function refuseInstructions(refused: RefusedTool): Promise<undefined> {
    const now = Date.now();
    const refusals = refusalsToAudit([refused], now);
    if (refusals.length > 0) await checkPins([], refusals);
    for (const { name } of refusals) refusalsAudited.set(cutText(name, 128), now);
    return undefined;
  }

  const { instructions } = source as { instructions?: (signal: AbortSignal) => Promise<string | undefined> };
  return {
    ...source,
    listTools,
    ...(instructions && { instructions: (signal: AbortSignal) => pinnedInstructions(instructions.bind(source), signal) }),

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
      const withholding = withheld.get(name);
      if (withholding) return errorResult(withheldToolMessage(name, serverSlug, withholding));
      // As the upstream itself would answer: a tool error the model can act on, and nothing sent upstream.
      return unknownToolResult(`Unknown tool: ${name}. The server ${serverSlug} does not offer it.`);
    },

    [REFUSED]: () =>
      [...withheld].flatMap(([name, withholding]) => (withholding.awaitsApproval ? [] : [{ name: cutText(name, 64), reason: withholding.reason }])),
  };
}
