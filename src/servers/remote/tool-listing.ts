import {
  Client,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  StreamableHTTPClientTransport,
  type ClientOptions,
  type Implementation,
  type JSONRPCErrorResponse,
  type JSONRPCMessage,
  type JSONRPCResponse,
} from '@modelcontextprotocol/client';
import { ToolSchema } from '@modelcontextprotocol/core';

/** A tool the upstream listed that the gateway leaves out, and why. */
export interface DroppedTool {
  /** The name it was listed under (empty when it had none), cut to `MAX_SHOWN` characters. */
  name: string;
  /** What is wrong with it, cut to `MAX_SHOWN` characters. */
  reason: string;
}

/** The most characters of an upstream's text a dropped tool repeats: a name or a schema may be of any size. */
const MAX_SHOWN = 200;

const cut = (text: string) => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);

/** The transport of an upstream connection, noting the `tools/list` requests it sends so that their answers can be told apart. */
export class ListingTransport extends StreamableHTTPClientTransport {
  readonly #listings = new Set<unknown>();

  override async send(message: JSONRPCMessage | JSONRPCMessage[], options?: Parameters<StreamableHTTPClientTransport['send']>[1]): Promise<void> {
    const listing = !Array.isArray(message) && isJSONRPCRequest(message) && message.method === 'tools/list' ? message.id : undefined;
    if (listing !== undefined) this.#listings.add(listing);
    try {
      await super.send(message, options);
    } catch (error) {
      // No answer will come.
      if (listing !== undefined) this.#listings.delete(listing);
      throw error;
    }
  }

  /** Whether `id` is that of a `tools/list` request sent and not answered yet; it is then answered. */
  takeListing(id: unknown): boolean {
    return this.#listings.delete(id);
  }
}

/** What an issue list of zod says, as one line: `inputSchema.type: Invalid input: expected "object"`. */
function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((issue) => `${issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : ''}${issue.message}`).join('; ');
}

/**
 * A client that leaves invalid tools out of a `tools/list` answer (over a
 * `ListingTransport`) instead of refusing the whole answer, as the SDK client
 * does when one tool in it does not match the negotiated era's schema (an
 * `inputSchema` that is not an object schema, or none) or has an empty name.
 * `onDropped` is told of the tools each answer left out.
 */
export class LenientListingClient extends Client {
  constructor(
    info: Implementation,
    options: ClientOptions,
    private readonly onDropped: (dropped: DroppedTool[]) => void,
  ) {
    super(info, options);
  }

  protected override _onresponse(response: JSONRPCResponse | JSONRPCErrorResponse): void {
    // oxlint-disable-next-line no-underscore-dangle -- the SDK's extension point for the answers a client receives
    super._onresponse(this.#withValidTools(response));
  }

  /** A `tools/list` answer without the invalid tools; any other answer as it is. */
  #withValidTools(response: JSONRPCResponse | JSONRPCErrorResponse): JSONRPCResponse | JSONRPCErrorResponse {
    const transport = this.transport;
    if (!isJSONRPCResultResponse(response) || !(transport instanceof ListingTransport) || !transport.takeListing(response.id)) return response;
    const { tools } = response.result;
    // An answer without a list of tools is the client's to refuse.
    if (!Array.isArray(tools)) return response;
    const dropped: DroppedTool[] = [];
    const kept = tools.filter((tool) => {
      const reason = this.#whyInvalid(tool);
      if (reason === undefined) return true;
      const name = (tool as { name?: unknown } | null)?.name;
      dropped.push({ name: cut(typeof name === 'string' ? name : ''), reason: cut(reason) });
      return false;
    });
    if (dropped.length === 0) return response;
    this.onDropped(dropped);
    return { ...response, result: { ...response.result, tools: kept } };
  }

  /** Why the client would refuse `tool` in the negotiated era (or the gateway, for an empty name); undefined when it is valid. */
  #whyInvalid(tool: unknown): string | undefined {
    // The 2025 schema, whose issues say what is wrong; a 2026-07-28 tool is held to its own era's, as the client holds it.
    const parsed = ToolSchema.safeParse(tool);
    // oxlint-disable-next-line no-underscore-dangle -- the SDK's accessor for the negotiated era's codec, given to subclasses
    const codec = this._wireCodec();
    const valid =
      codec.era === '2026-07-28'
        ? codec.decodeResult('tools/list', { resultType: 'complete', ttlMs: 0, cacheScope: 'private', tools: [tool] }).kind !== 'invalid'
        : parsed.success;
    if (!valid) return parsed.success ? `it does not match the ${codec.era} tool schema` : describeIssues(parsed.error.issues);
    const { name } = tool as { name: string };
    return name.trim() === '' ? 'name: the name is empty' : undefined;
  }
}
