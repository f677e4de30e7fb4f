import { isInputRequiredResult, type CallToolResult } from '@modelcontextprotocol/client';
import type { ToolCallOutcome } from '../../src/servers/index.ts';

/** A source's answer as a result; fails the test when the source asked for the client's input instead. */
export function resultOf(outcome: ToolCallOutcome): CallToolResult {
  if (isInputRequiredResult(outcome)) throw new Error(`expected a result, got a request for input: ${JSON.stringify(outcome)}`);
  return outcome;
}
