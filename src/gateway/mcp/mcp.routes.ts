import { Readable } from 'node:stream';
import { createMcpHandler, type AuthInfo, type InputRequiredResult, type McpServerFactory } from '@modelcontextprotocol/server';
import { toNodeHandler, type NodeIncomingMessageLike } from '@modelcontextprotocol/node';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { ChangeBus } from '../../shared/change-bus.ts';
import { AppError } from '../../shared/errors.ts';
import { MAX_VIA, parseVia, runVia, VIA_HEADER, viaEntry } from '../../shared/via.ts';
import type { BotsModule } from '../../bots/index.ts';
import type { ListKind, ServersModule, ServerRuntime } from '../../servers/index.ts';
import { denialReason, mayUseServer, mayUseTool, type AuditWriter, type Principal, type TenancyModule } from '../../tenancy/index.ts';
import { BOTS_NAMESPACE, type AskContext, type BotRuntime } from '../bots/bot-ask.ts';
import { botEntry, botsEntry } from '../bots/bot-sources.ts';
import { RUN_CREDENTIAL_PREFIX, type RunGrant } from '../bots/run-credentials.ts';
import { restrictSource } from '../restricted-source.ts';
import { bearerToken } from '../auth.ts';
import { createReadOnlyView } from '../oauth/read-only.ts';
import type { OAuthAccess, OAuthResourceServer } from '../oauth/index.ts';
import type { ChallengeError } from '../oauth/resource.ts';
import { bindPrincipalToLog, contextOf, param } from '../http.ts';
import { summarizeArguments } from './tool-audit.ts';
import { createContentCatalog, type ContentCatalog } from './content-catalog.ts';
import { aggregateNamespace } from './namespacing.ts';
import { createListWaits, createToolCatalog, type CatalogEntry, type CatalogOptions, type ToolCatalog } from './tool-catalog.ts';
import type { LocatedTool, ToolCallRunner } from './tool-call.ts';
import type { Metrics } from '../metrics.ts';
import { answerToolCall, discardRest, isReadableJsonPost, mayBeDirectToolCall, readBodyText, readDirectToolCall } from './direct-tool-call.ts';
import { isLegacyStreamRequest, takesPriming } from './legacy-stream.ts';
import { answerLegacyToolCall, readLegacyToolCall } from './legacy-tool-call.ts';
import { createListenStreams, isListenRequest, type ListenScope } from './listen-streams.ts';
import { handshakeInstructions, isHandshake, isLegacyJsonPost } from './handshake.ts';
import { createLegacyCancellations, followLegacyCancellation } from './legacy-cancellations.ts';
import { createToolServer } from './tool-server.ts';

export interface McpRouteDependencies extends BotRuntime {
  tenancy: TenancyModule;
  servers: ServersModule;
  auditWriter: AuditWriter;
  version: string;
  bots: BotsModule;
  /** Where servers' list changes arrive from, for `subscriptions/listen` streams. */
  changes: ChangeBus;
  /** Aborted when the gateway starts draining: open listen streams then end. */
  stopping?: AbortSignal | undefined;
  /** Accepts the gateway's own OAuth access tokens besides API keys; absent, API keys only. */
  oauth?: OAuthResourceServer | undefined;
  /** Counts each tool call by server kind and outcome. */
  metrics?: Metrics | undefined;
  /** Streams (`subscriptions/listen`, 2025-era GET) one tenant may hold open on this node; `createListenStreams`'s default when absent. */
  maxStreamsPerTenant?: number | undefined;
}

interface EndpointState {
  principal: Principal;
  catalog: ToolCatalog;
  content: ContentCatalog;
  name: string;
  /** The one server of a single-server endpoint: its listen streams hear only that server's changes. */
  server?: string;
  request: Request;
  response: Response;
  /** The request's tool call, already run on the direct path, asked for input: the SDK answers with this result. */
  answered?: InputRequiredResult;
  /** Where a tool name the endpoint does not publish points, for the audit trail (`ToolCallRunner.locate`). */
  locate?: (name: string) => LocatedTool | undefined;
  /** Where a single server's endpoint gets its upstream's instructions, for handshakes. */
  instructionsOf?: ((signal: AbortSignal) => Promise<string | undefined>) | undefined;
  /** The upstream's instructions, fetched for this request when it is a handshake. */
  instructions?: string | undefined;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The tenant's MCP endpoints: `/t/{tenant}/mcp` (every server; tools and
 * prompts named `{server}__{name}`, resource URIs `botgate://{server}/{uri}`
 * and MCP Apps views `ui://{server}__{rest}`, see namespacing.ts) and
 * `/t/{tenant}/mcp/servers/{server}` (one server, names unchanged). Tools,
 * resources, templates, prompts and completions are proxied on both.
 * Both eras of the protocol are served statelessly from the same URL.
 */
export function createMcpRoutes(deps: McpRouteDependencies): Router {
  const router = Router();

  /** How an endpoint's tool calls run and are audited, on either path to them. */
  function toolCallRunner(state: EndpointState): ToolCallRunner {
    const { actor } = state.principal;
    return {
      catalog: state.catalog,
      logger: deps.logger,
      caller: `${actor.type}:${actor.id ?? ''}`,
      locate: state.locate,
      stopping: deps.stopping,
      onToolCall: (call) => {
        const { entry } = call;
        deps.metrics?.toolCall(entry?.kind ?? 'other', call.outcome, call.durationMs);
        deps.auditWriter.enqueue(state.principal.tenant.id, contextOf(state.request, state.response), {
          action: 'tool.call',
          // A name that points at no server (an `unknown_tool` call) is recorded without one.
          ...(entry?.audit?.(call.tool) ?? { resourceType: 'server', resourceId: entry?.serverId ?? null }),
          after: {
            server: entry?.slug ?? null,
            tool: call.tool,
            arguments: summarizeArguments(call.args),
            // Keys the client chose: cut as arguments are, so a retry cannot swell the trail.
            ...(call.inputResponses && { input_responses: summarizeArguments(call.inputResponses) }),
            outcome: call.outcome,
            duration_ms: Math.round(call.durationMs),
          },
        });
      },
    };
  }

  const factory: McpServerFactory = ({ authInfo, era }) => {
    const state = authInfo?.extra?.['endpoint'] as EndpointState | undefined;
    if (!state) throw new Error('MCP request reached the handler without authentication');
    return createToolServer({
      ...toolCallRunner(state),
      name: state.name,
      version: deps.version,
      content: state.content,
      // Resource updates reach 2026-07-28 clients' listen streams only (a 2025-era subscription needs a session).
      resourceUpdates: era === 'modern',
      answered: state.answered,
      instructions: state.instructions,
    });
  };
  const handler = createMcpHandler(factory, { legacy: 'stateless' });
  const listen = createListenStreams({
    changes: deps.changes,
    factory,
    logger: deps.logger,
    maxBodyBytes: MAX_BODY_BYTES,
    stopping: deps.stopping,
    ...(deps.maxStreamsPerTenant !== undefined && { maxStreamsPerTenant: deps.maxStreamsPerTenant }),
  });
  const legacyCancellations = createLegacyCancellations(deps.changes, deps.logger);
  const serveNode = toNodeHandler(handler, {
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (error) => deps.logger.error({ err: error }, 'MCP transport error'),
  });

  /** Points a refused client at the endpoint's OAuth metadata and the scope it needs (RFC 9728, RFC 6750). */
  function challenge(req: Request, res: Response, error?: ChallengeError): void {
    const value = deps.oauth?.challenge(`${req.baseUrl}${req.path}`, error);
    if (value) res.set('www-authenticate', value);
  }

  /** What an MCP endpoint asks of a principal besides its tenant: the `mcp` scope, and a role that uses tools (not an auditor's). */
  const mayUseTools = (principal: Principal) => principal.scopes.includes('mcp') && denialReason(principal, 'tools:use') === undefined;

  /**
   * Whether the request's credential still authenticates, with the tool restriction `principal` had
   * and what `mayUseTools` asks (a person demoted to auditor loses their streams):
   * for a stream open long after it was checked. A key's restriction narrows when what it named is
   * deleted; its stream then ends, and is listened for again under the restriction the key has now.
   */
  async function credentialHolds(req: Request, principal: Principal): Promise<boolean> {
    const token = bearerToken(req.get('authorization'));
    if (!token) return false;
    if (token.startsWith(RUN_CREDENTIAL_PREFIX)) return deps.credentials.resolve(token) !== undefined;
    if (deps.oauth?.handles(token)) {
      const access = await deps.oauth.authenticate(token, `${req.baseUrl}${req.path}`);
      return access !== undefined && mayUseTools(access.principal);
    }
    const current = await deps.tenancy.apiKeys.authenticate(token);
    return current !== undefined && JSON.stringify(current.tools) === JSON.stringify(principal.tools) && mayUseTools(current);
  }

  /**
   * Authenticates the API key, run credential or OAuth access token; checks the
   * tenant in the path and the `mcp` scope.
   */
  const authenticate: RequestHandler = async (req, res, next) => {
    res.locals['credentialChangesSeen'] = listen.credentialChangesHeard();
    const token = bearerToken(req.get('authorization'));
    if (!token) {
      challenge(req, res);
      throw new AppError('unauthorized', 'an API key is required: send "Authorization: Bearer bgk_..."');
    }
    // A bot's own calls carry its run credential, bound to the run and narrowed to the bot's attachments.
    const grant = token.startsWith(RUN_CREDENTIAL_PREFIX) ? deps.credentials.resolve(token) : undefined;
    if (grant) res.locals['runGrant'] = grant;
    // A person's OAuth access token is good for exactly the endpoint (URL) it was issued for.
    let access: OAuthAccess | undefined;
    if (!grant && deps.oauth?.handles(token)) {
      access = await deps.oauth.authenticate(token, `${req.baseUrl}${req.path}`);
      if (!access) {
        challenge(req, res, { error: 'invalid_token', description: 'the access token is invalid, expired, revoked or for another endpoint' });
        throw new AppError('unauthorized', 'the access token is invalid, expired, revoked or not for this endpoint');
      }
      res.locals['oauth'] = access;
    }
    const principal = grant ? grant.principal : access ? access.principal : await deps.tenancy.apiKeys.authenticate(token);
    if (!principal) {
      challenge(req, res, { error: 'invalid_token', description: 'the credential is invalid, expired or revoked' });
      throw new AppError('unauthorized', 'the API key is invalid, expired or revoked');
    }
    // Another tenant's endpoint looks exactly like one that does not exist.
    if (principal.tenant.slug !== param(req, 'tenant')) throw new AppError('not_found', 'tenant not found');
    // Known from here on: a refusal below (403) is the tenant's to audit (`auditRefusals`).
    res.locals['principal'] = principal;
    bindPrincipalToLog(req, principal);
    const details = { permission: 'tools:use' };
    if (!principal.scopes.includes('mcp')) {
      if (access) challenge(req, res, { error: 'insufficient_scope', description: 'this endpoint needs the mcp scope' });
      throw new AppError('forbidden', 'this key lacks the "mcp" scope', { details });
    }
    // An auditor reads; it does not use tools or bots.
    const denied = denialReason(principal, 'tools:use');
    if (denied) throw new AppError('forbidden', denied, { details });
    next();
  };

  /**
   * Refuses a request that came back to its tenant through the tenant's own
   * remote servers (see via.ts), and serves the rest knowing their chain, so
   * that remote servers' requests carry it on.
   */
  const guardLoops: RequestHandler = (req, res, next) => {
    const principal = res.locals['principal'] as Principal;
    const incoming = parseVia(req.get(VIA_HEADER));
    const tenant = viaEntry(principal.tenant.id);
    if (incoming.includes(tenant)) {
      throw new AppError(
        'loop_detected',
        `this request came back to the tenant ${principal.tenant.slug} through one of its remote servers: a remote server leads back to this gateway in a loop`,
      );
    }
    if (incoming.length >= MAX_VIA) throw new AppError('loop_detected', `this request has come through ${incoming.length} gateways' remote servers, more than ${MAX_VIA - 1} allowed`);
    runVia({ incoming, tenant }, next);
  };

  /**
   * The sources a key may use. A key restricted to single tools of a server
   * sees only those tools; one granted the whole server sees all of it.
   */
  async function entriesFor(principal: Principal, runtimes: ServerRuntime[]): Promise<CatalogEntry[]> {
    const allowed = runtimes.filter((server) => mayUseServer(principal.tools, server.slug));
    return Promise.all(
      allowed.map(async (server) => {
        const source = await deps.servers.sources.sourceFor(principal.tenant, server);
        const whole = principal.tools === null || principal.tools.includes(server.slug);
        return {
          slug: server.slug,
          serverId: server.id,
          kind: server.kind,
          source: whole ? source : restrictSource(source, server.slug, principal.tools),
        };
      }),
    );
  }

  /**
   * Where an aggregate tool name no visible source publishes points: the tenant's
   * server (or its bots) its prefix names, whether or not the key may use it, so
   * that the audit trail shows what was tried. The caller is told nothing of it.
   */
  function locateIn(runtimes: readonly ServerRuntime[]): (name: string) => LocatedTool | undefined {
    return (name) => {
      const parsed = aggregateNamespace.parseName(name);
      if (!parsed) return undefined;
      if (parsed.slug === BOTS_NAMESPACE) {
        return { entry: { slug: BOTS_NAMESPACE, serverId: '', kind: 'bot', audit: () => ({ resourceType: 'bot', resourceId: null }) }, tool: parsed.name };
      }
      const server = runtimes.find((s) => s.slug === parsed.slug);
      return server && { entry: { slug: server.slug, serverId: server.id, kind: server.kind }, tool: parsed.name };
    };
  }

  /** Parses a JSON body up front, so that a read-only token's tool calls can be judged before they run. */
  const parseJson = express.json({ limit: MAX_BODY_BYTES, strict: false });
  function readJsonBody(req: Request, res: Response): Promise<unknown> {
    return new Promise((resolve, reject) => {
      parseJson(req, res, (error?: unknown) => (error === undefined ? resolve(req.body) : reject(error)));
    });
  }

  /**
   * An `mcp:read` token sees only read-only tools; a call of another tool is
   * refused with 403 and a challenge for `mcp`, so the client can step up.
   */
  async function serveReadOnly(req: Request, res: Response, state: Omit<EndpointState, 'request' | 'response'>): Promise<void> {
    const view = createReadOnlyView(state.catalog);
    if (isListenRequest(req)) return serveEndpoint(req, res, { ...state, catalog: view.catalog });
    const body = await readJsonBody(req, res);
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    const denied = await view.deniedCall(body, controller.signal);
    if (denied !== undefined) {
      challenge(req, res, { error: 'insufficient_scope', description: 'this tool is not read-only; it needs the mcp scope' });
      throw new AppError('forbidden', `the tool ${denied} is not read-only: this token has only the "mcp:read" scope; authorize with "mcp"`);
    }
    return serveEndpoint(req, res, { ...state, catalog: view.catalog }, body);
  }

  /** Whose changes a stream opened by `req` on an endpoint may hear. */
  function listenScope(req: Request, res: Response, state: Pick<EndpointState, 'principal' | 'server' | 'content'>): ListenScope {
    const { principal } = state;
    return {
      credentialChangesSeen: res.locals['credentialChangesSeen'] as number | undefined,
      tenantId: principal.tenant.id,
      server: state.server,
      mayUseServer: (slug) => mayUseServer(principal.tools, slug),
      watchResource: (uri, listener) => state.content.watchResource(uri, listener),
      credentialHolds: () => credentialHolds(req, principal),
    };
  }

  /** Serves an endpoint to the authenticated principal; read-only tokens through their narrower view. */
  async function serve(req: Request, res: Response, state: Omit<EndpointState, 'request' | 'response'>): Promise<void> {
    // A 2025-era client's stream for server messages: it hears list changes as a 2026-07-28 listener does,
    // of the lists the endpoint offers (as its handshake told the client).
    if (isLegacyStreamRequest(req)) {
      const { prompts, resources } = state.content.capabilities;
      const lists: ListKind[] = ['tools', ...(prompts ? (['prompts'] as const) : []), ...(resources ? (['resources'] as const) : [])];
      return listen.serveLegacy(res, listenScope(req, res, state), { lists, resumed: req.get('last-event-id') !== undefined, primed: takesPriming(req) });
    }
    const access = res.locals['oauth'] as OAuthAccess | undefined;
    return access?.readOnly ? serveReadOnly(req, res, state) : serveEndpoint(req, res, state);
  }

  async function serveEndpoint(
    req: Request,
    res: Response,
    partial: Omit<EndpointState, 'request' | 'response'>,
    parsedBody?: unknown,
  ): Promise<void> {
    const principal = partial.principal;
    const state: EndpointState = { ...partial, request: req, response: res };
    const authFor = (endpoint: EndpointState): AuthInfo => ({
      token: 'api-key',
      clientId: principal.keyId ?? `${principal.actor.type}:${principal.actor.id ?? ''}`,
      scopes: principal.scopes,
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
      extra: { endpoint },
    });
    const auth = authFor(state);
    const listening = isListenRequest(req);
    const serveSdk = (message: NodeIncomingMessageLike, body?: unknown) =>
      listening ? listen.serve(message, res, listenScope(req, res, state), body) : serveNode(message, res, body);
    let body = parsedBody;
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
      // The SDK refuses a body whose stated length is over the limit (413); it is read off first, see `discardRest`.
      await discardRest(req);
      return serveSdk(Object.assign(Readable.from([]), { method: req.method, url: req.url, headers: req.headers, auth }));
    }
    // Read here: a listen stream's body names the resources to watch; a tool call may be answered directly.
    // A body without a stated length (chunked) is read here too, so that one over the limit is read off before
    // the 413: the SDK would refuse it mid-body, and close on a client still sending.
    const chunked = req.headers['content-length'] === undefined && isReadableJsonPost(req, MAX_BODY_BYTES);
    // A 2025-era body is read for its handshake (a single server's endpoint answers it with the upstream's instructions)
    // and for cancellation, which names a request by its id.
    const legacy = isLegacyJsonPost(req, MAX_BODY_BYTES);
    const wanted = listening ? isReadableJsonPost(req, MAX_BODY_BYTES) : mayBeDirectToolCall(req, MAX_BODY_BYTES) || legacy;
    // The text of a 2025-era body read here: the SDK is given it to parse again, as it would have read it, since it
    // serializes a parsed body anew, which a body nested thousands deep overflows.
    let legacyText: string | undefined;
    if (body === undefined && (chunked || wanted)) {
      const text = await readBodyText(req, MAX_BODY_BYTES).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'payload_too_large') return undefined;
        throw error;
      });
      if (text === undefined) {
        // A chunked body over the limit: the SDK answers it as one whose stated length is over it (413, JSON-RPC error).
        const headers = { ...req.headers, 'content-length': String(MAX_BODY_BYTES + 1) };
        return serveNode(Object.assign(Readable.from([]), { method: req.method, url: req.url, headers, auth }), res);
      }
      try {
        body = JSON.parse(text) as unknown;
        if (legacy) legacyText = text;
      } catch {
        // The SDK answers a body that is not JSON; it reads the text again from a replay.
        return serveSdk(Object.assign(Readable.from([text]), { method: req.method, url: req.url, headers: req.headers, auth }));
      }
    }
    if (listening) return serveSdk(Object.assign(req, { auth }), body);
    if (legacy && body !== undefined) {
      const credential = bearerToken(req.get('authorization')) ?? '';
      const post = { tenantId: principal.tenant.id, credential, endpoint: `${req.baseUrl}${req.path}`, session: req.get('mcp-session-id'), body };
      followLegacyCancellation(legacyCancellations, post, res);
    }
    if (legacyText !== undefined) {
      // A 2025-era tool call is answered directly too, as 2026-07-28 ones are below; a chunked one is the SDK's.
      const call = chunked ? undefined : readLegacyToolCall(req, body);
      const routed = call && state.catalog.route(call.name);
      if (call && routed) return answerLegacyToolCall(res, toolCallRunner(state), call, routed);
      const instructions = state.instructionsOf && isHandshake(req, body) ? await handshakeInstructions(state.instructionsOf, res) : undefined;
      const replay = Object.assign(Readable.from([legacyText]), { method: req.method, url: req.url, headers: req.headers });
      return serveNode(Object.assign(replay, { auth: instructions === undefined ? auth : authFor({ ...state, instructions }) }), res);
    }
    if (state.instructionsOf && isHandshake(req, body)) {
      const instructions = await handshakeInstructions(state.instructionsOf, res);
      return serveNode(Object.assign(req, { auth: authFor({ ...state, instructions }) }), res, body);
    }
    // The direct path takes stated lengths only, as it always has: a chunked call is the SDK's.
    const call = body === undefined || chunked ? undefined : readDirectToolCall(req, body);
    const routed = call && state.catalog.route(call.name);
    if (call && routed) {
      const asking = await answerToolCall(res, toolCallRunner(state), call, routed, { name: state.name, version: deps.version });
      // A request for the client's input is answered by the SDK, which checks the client can give it; the call does not run again.
      if (asking) return serveNode(Object.assign(req, { auth: authFor({ ...state, answered: asking }) }), res, body);
      return;
    }
    return serveNode(Object.assign(req, { auth }), res, body);
  }

  const listWaits = createListWaits();
  const onListError = (entry: CatalogEntry, error: unknown, what: string) => {
    listWaits.failed(entry);
    deps.logger.warn({ err: error, server: entry.slug }, `listing a server’s ${what} failed; left out`);
  };
  const listWaitMs = (entry: CatalogEntry) => listWaits.waitMs(entry);

  /** The tool and content catalogs of one endpoint over `entries`. */
  function catalogsFor(entries: CatalogEntry[], namespaced: boolean) {
    const options: CatalogOptions = { namespaced, onListError, listWaitMs };
    return { catalog: createToolCatalog(entries, options), content: createContentCatalog(entries, options) };
  }

  /** How bots asked through this request run: as the principal, below the calling run when a bot asks. */
  function askContext(res: Response, principal: Principal): AskContext {
    const grant = res.locals['runGrant'] as RunGrant | undefined;
    return {
      runner: deps.runner,
      // A bot asked by a bot acts for whoever started the chain, not with the asking bot's narrower rights.
      principal: grant?.origin ?? principal,
      parentRunId: grant?.runId ?? null,
      chain: grant?.chain ?? [],
      selfUrl: deps.selfUrl,
      credentials: deps.credentials,
      discoveries: deps.discoveries,
      toolLists: deps.toolLists,
      logger: deps.logger,
    };
  }

  /** The tenant's bots the principal may ask, as the aggregate's `bot__{slug}` tools; none when it may use none. */
  async function botsEntries(res: Response, principal: Principal): Promise<CatalogEntry[]> {
    if (!mayUseServer(principal.tools, BOTS_NAMESPACE)) return [];
    const bots = (await deps.bots.bots.list(principal.tenant)).filter((bot) => mayUseTool(principal.tools, BOTS_NAMESPACE, bot.slug));
    return bots.length > 0 ? [botsEntry(askContext(res, principal), bots)] : [];
  }

  router.all('/t/:tenant/mcp', authenticate, guardLoops, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const runtimes = (await deps.servers.servers.listRuntime(principal.tenant)).filter((server) => server.slug !== BOTS_NAMESPACE);
    const [servers, bots] = await Promise.all([entriesFor(principal, runtimes), botsEntries(res, principal)]);
    const catalogs = catalogsFor([...servers, ...bots], true);
    await serve(req, res, { principal, ...catalogs, name: `botgate/${principal.tenant.slug}`, locate: locateIn(runtimes) });
  });

  router.all('/t/:tenant/mcp/servers/:server', authenticate, guardLoops, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const slug = param(req, 'server');
    const runtime = (await deps.servers.servers.listRuntime(principal.tenant)).find((s) => s.slug === slug);
    if (!runtime) throw new AppError('not_found', 'server not found');
    // A server the key may not use looks like one that does not exist, as it does in the aggregate.
    if (!mayUseServer(principal.tools, slug)) throw new AppError('not_found', 'server not found');
    const entries = await entriesFor(principal, [runtime]);
    // One server, passed through: its upstream's instructions too (they name its tools as this endpoint does, not as the aggregate does).
    const source = entries[0]?.source;
    const instructions = source?.instructions?.bind(source);
    // The handshake goes on without them; why is logged (an upstream down, or pinning them failed).
    const instructionsOf =
      instructions &&
      ((signal: AbortSignal) =>
        instructions(signal).catch((error: unknown) => {
          if (!signal.aborted) deps.logger.warn({ err: error, server: slug }, 'the upstream’s instructions could not be given; the handshake goes on without them');
          throw error;
        }));
    const catalogs = catalogsFor(entries, false);
    await serve(req, res, { principal, ...catalogs, name: `botgate/${principal.tenant.slug}/${slug}`, server: slug, instructionsOf });
  });

  router.all('/t/:tenant/mcp/bots/:bot', authenticate, guardLoops, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const slug = param(req, 'bot');
    // Read once with its key: an ask on this endpoint needs no second read.
    const loaded = await deps.bots.bots.forRun(principal.tenant, slug);
    const bot = loaded.info;
    if (!mayUseTool(principal.tools, BOTS_NAMESPACE, bot.slug)) throw new AppError('not_found', 'bot not found');
    const entry = botEntry({ ...askContext(res, principal), loadedBot: loaded }, bot, deps.bots.conversations);
    const catalogs = catalogsFor([entry], false);
    await serve(req, res, { principal, ...catalogs, name: `botgate/${principal.tenant.slug}/bots/${bot.slug}`, server: BOTS_NAMESPACE });
  });

  return router;
}
