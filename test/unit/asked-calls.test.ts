import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ANSWER_WAIT_MS,
  clientCanAnswer,
  createAskedCalls,
  isParkedStateShape,
  MAX_WAITING_CALLS,
  UNKNOWN_STATE_MESSAGE,
} from '../../src/servers/remote/asked-calls.ts';
import type { DirectCall, DirectCallOptions, UpstreamAsk } from '../../src/servers/remote/direct-call.ts';
import type { ToolCallContext } from '../../src/servers/tool-source.ts';

const FORM = { elicitation: { form: {} } };
const QUESTION = { message: 'Sure?', requestedSchema: { type: 'object', properties: {} } };

/** A scripted upstream call: it asks what the test tells it to and ends when told. */
function scriptedCall() {
  const state: { options?: DirectCallOptions; answers: unknown[]; finish?: (result: CallToolResult) => void } = { answers: [] };
  const directCall: DirectCall = (_params, options) => {
    state.options = options;
    return new Promise<CallToolResult>((resolve, reject) => {
      state.finish = resolve;
      options.signal.addEventListener('abort', () => reject(options.signal.reason as Error), { once: true });
    });
  };
  /** The upstream asks; false when the call refused to pass the question on. */
  const ask = (method = 'elicitation/create', params: Record<string, unknown> = QUESTION): boolean => {
    if (!(state.options?.mayAsk?.(method, params) ?? false)) return false;
    const upstreamAsk: UpstreamAsk = { method, params, answer: (result) => state.answers.push(result) };
    state.options?.onAsk?.(upstreamAsk);
    return true;
  };
  return { directCall, state, ask };
}

const contextOf = (extra: Partial<ToolCallContext> = {}): ToolCallContext => ({
  signal: new AbortController().signal,
  progress: async () => {},
  clientCapabilities: FORM,
  caller: 'api_key:alice',
  ...extra,
});

const OPTIONS = { timeout: 1_000, maxTotalMs: 60_000 };

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('clientCanAnswer', () => {
  it.each([
    [FORM, 'elicitation/create', {}, true],
    [{ elicitation: {} }, 'elicitation/create', { mode: 'form' }, true],
    [FORM, 'elicitation/create', { mode: 'url' }, false],
    [{ elicitation: { url: {} } }, 'elicitation/create', { mode: 'url' }, true],
    [{ elicitation: { url: {} } }, 'elicitation/create', {}, false],
    [{ sampling: {} }, 'sampling/createMessage', {}, true],
    [{ sampling: {} }, 'sampling/createMessage', { tools: [] }, false],
    [{ sampling: { tools: {} } }, 'sampling/createMessage', { tools: [] }, true],
    [{ sampling: {} }, 'elicitation/create', {}, false],
    [undefined, 'elicitation/create', {}, false],
    [{ roots: {} }, 'roots/list', {}, false],
  ])('with %j answers %s %j: %s', (capabilities, method, params, expected) => {
    expect(clientCanAnswer(capabilities, method, params)).toBe(expected);
  });
});

describe('asked calls', () => {
  it('passes a question on as input_required and the answer back, then gives the call’s result', async () => {
    const calls = createAskedCalls();
    const upstream = scriptedCall();
    const first = calls.call(upstream.directCall, 'confirm', {}, contextOf(), OPTIONS);
    expect(upstream.ask()).toBe(true);
    const asking = await first;

    expect(asking).toMatchObject({ resultType: 'input_required', inputRequests: { 'ask-1': { method: 'elicitation/create', params: QUESTION } } });
    const state = (asking as { requestState: string }).requestState;
    expect(calls.holds(state)).toBe(true);
    // Shaped as every node's states are, so another node passes a retry on; a forged one is not.
    expect([isParkedStateShape(state), isParkedStateShape('forged-state'), isParkedStateShape(`${state}x`)]).toEqual([true, false, false]);

    const retry = calls.resume('confirm', contextOf({ input: { responses: { 'ask-1': { action: 'accept', content: {} } }, state } }));
    await vi.advanceTimersByTimeAsync(0);
    upstream.state.finish?.({ content: [{ type: 'text', text: 'done' }] });

    expect(await retry).toEqual({ content: [{ type: 'text', text: 'done' }] });
    expect(upstream.state.answers).toEqual([{ action: 'accept', content: {} }]);
    expect(calls.holds(state)).toBe(false);
  });

  it('refuses a question the client cannot answer, and a retry for another tool, by another caller or for an unknown state', async () => {
    const calls = createAskedCalls();
    const upstream = scriptedCall();
    const pending = calls.call(upstream.directCall, 'confirm', {}, contextOf({ clientCapabilities: { sampling: {} } }), OPTIONS);
    expect(upstream.ask()).toBe(false);
    upstream.state.finish?.({ content: [] });
    expect(await pending).toEqual({ content: [] });

    const other = scriptedCall();
    const asking = calls.call(other.directCall, 'confirm', {}, contextOf(), OPTIONS);
    other.ask();
    const state = ((await asking) as { requestState: string }).requestState;
    const wrongTool = await calls.resume('delete', contextOf({ input: { responses: {}, state } }));
    const wrongCaller = await calls.resume('confirm', contextOf({ caller: 'api_key:mallory', input: { responses: { 'ask-1': { action: 'accept' } }, state } }));
    const unknown = await calls.resume('confirm', contextOf({ input: { responses: {}, state: 'forged' } }));

    expect(wrongTool).toEqual({ content: [{ type: 'text', text: UNKNOWN_STATE_MESSAGE }], isError: true });
    expect(wrongCaller).toEqual(wrongTool);
    expect(unknown).toEqual(wrongTool);
    expect(other.state.answers).toEqual([]);
    expect(calls.holds(state)).toBe(true);
  });

  it('makes the plain call for a client that can answer nothing, on its own request', async () => {
    const calls = createAskedCalls();
    const upstream = scriptedCall();
    const request = new AbortController();
    const pending = calls.call(upstream.directCall, 'confirm', {}, contextOf({ signal: request.signal, clientCapabilities: {} }), OPTIONS);

    expect(upstream.state.options?.onAsk).toBeUndefined();
    expect(upstream.state.options?.signal).toBe(request.signal);
    upstream.state.finish?.({ content: [] });
    expect(await pending).toEqual({ content: [] });
  });

  it('stops a call whose client does not come back in time, telling the upstream', async () => {
    const calls = createAskedCalls();
    const upstream = scriptedCall();
    const asking = calls.call(upstream.directCall, 'confirm', {}, contextOf(), OPTIONS);
    upstream.ask();
    const state = ((await asking) as { requestState: string }).requestState;

    await vi.advanceTimersByTimeAsync(ANSWER_WAIT_MS - 1);
    expect(upstream.state.options?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    expect(upstream.state.options?.signal.aborted).toBe(true);
    expect(String(upstream.state.options?.signal.reason)).toMatch(/did not answer within 10 minutes/);
    expect(calls.holds(state)).toBe(false);
  });

  it('stops the call when the client cancels the request it waits in, and not when an answered request ends', async () => {
    const calls = createAskedCalls();
    const upstream = scriptedCall();
    const firstRequest = new AbortController();
    const asking = calls.call(upstream.directCall, 'confirm', {}, contextOf({ signal: firstRequest.signal }), OPTIONS);
    upstream.ask();
    const state = ((await asking) as { requestState: string }).requestState;
    // The request that carried the question ends (its response is done): the call waits on.
    firstRequest.abort();
    expect(upstream.state.options?.signal.aborted).toBe(false);

    const retryRequest = new AbortController();
    const retry = calls.resume('confirm', contextOf({ signal: retryRequest.signal, input: { responses: { 'ask-1': { action: 'cancel' } }, state } }));
    retryRequest.abort(new Error('the client closed the request'));

    await expect(retry).rejects.toThrow('the client closed the request');
    expect(upstream.state.options?.signal.aborted).toBe(true);
  });

  it('refuses questions once as many calls wait as it holds at most', async () => {
    const calls = createAskedCalls();
    for (let i = 0; i < MAX_WAITING_CALLS; i++) {
      const upstream = scriptedCall();
      const asking = calls.call(upstream.directCall, 'confirm', {}, contextOf(), OPTIONS);
      upstream.ask();
      await asking;
    }
    const over = scriptedCall();
    void calls.call(over.directCall, 'confirm', {}, contextOf(), OPTIONS);

    expect(over.ask()).toBe(false);
    calls.close();
    expect(over.state.options?.signal.aborted).toBe(false);
  });

  it('announces each parked call for other nodes, and withdraws it once answered, expired or closed', async () => {
    const parked = new Map<string, unknown>();
    const calls = createAskedCalls({
      onPark: (state, key) => {
        parked.set(state, key);
        return () => parked.delete(state);
      },
    });
    const park = async () => {
      const upstream = scriptedCall();
      const asking = calls.call(upstream.directCall, 'confirm', {}, contextOf(), OPTIONS);
      upstream.ask();
      return ((await asking) as { requestState: string }).requestState;
    };
    const answered = await park();
    const expiring = await park();
    const key = { tool: 'confirm', caller: 'api_key:alice' };
    expect(Object.fromEntries(parked)).toEqual({ [answered]: key, [expiring]: key });

    void calls.resume('confirm', contextOf({ input: { responses: { 'ask-1': { action: 'accept', content: {} } }, state: answered } }));
    await vi.advanceTimersByTimeAsync(0);
    // Asked nothing more, the call waits for its result: no longer parked under the spent state.
    expect([...parked.keys()]).toEqual([expiring]);

    await vi.advanceTimersByTimeAsync(ANSWER_WAIT_MS);
    expect(parked.size).toBe(0);

    const closing = await park();
    expect([...parked.keys()]).toEqual([closing]);
    calls.close();
    expect(parked.size).toBe(0);
  });
});
