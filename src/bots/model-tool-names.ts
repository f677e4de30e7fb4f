import { createHash } from 'node:crypto';

/** What the Messages API takes as a tool's name. */
const MODEL_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LENGTH = 64;
const HASH_LENGTH = 8;

/**
 * A tool's name as the model sees it: the name itself when the API takes it;
 * otherwise (MCP allows 128 characters and dots, the API 64 and no dots) the
 * name with every other character as `_`, cut to fit, and a hash of the
 * whole name, so that two long names that start alike stay apart. The same
 * name always gives the same answer, so a stored conversation still matches.
 */
export function modelToolName(name: string): string {
  if (MODEL_TOOL_NAME.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  return `${name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_LENGTH - HASH_LENGTH - 1)}_${hash}`;
}

/** The tools' names for the model, and back: undefined for a name the model was not given. */
export function modelToolNames(names: readonly string[]): { toModel(name: string): string; fromModel(name: string): string | undefined } {
  const byModelName = new Map(names.map((name) => [modelToolName(name), name]));
  return { toModel: modelToolName, fromModel: (name) => byModelName.get(name) };
}
