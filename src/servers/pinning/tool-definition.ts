import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/server';

/** The parts of a tool that tell a model what it does and how to call it: what is pinned. */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Tool['inputSchema'];
  outputSchema?: Tool['outputSchema'];
  annotations?: Tool['annotations'];
}

/** One difference between two definitions, at a JSON path such as `inputSchema.properties.path.description`. */
export interface DefinitionChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

const PINNED_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** Differences beyond this many are summarised by one entry, so an audit event stays small. */
const MAX_CHANGES = 50;

/** The pinned fields of a tool; anything else (icons, `_meta`) does not change what the model is told. */
export function definitionOf(tool: Tool): ToolDefinition {
  const definition: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS) if (tool[field] !== undefined) definition[field] = tool[field];
  return definition as unknown as ToolDefinition;
}

/** JSON with object keys sorted at every depth, so equal definitions serialise identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 (hex) of a text, such as a definition's canonical JSON. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 (hex) of the canonical JSON of a definition. */
export function digestDefinition(definition: ToolDefinition): string {
  return sha256Hex(canonicalJson(definition));
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function collectChanges(before: unknown, after: unknown, path: string, out: DefinitionChange[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) collectChanges(before[key], after[key], path ? `${path}.${key}` : key, out);
    return;
  }
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null) && (before === undefined) === (after === undefined)) return;
  out.push({ path: path || '(root)', ...(before !== undefined && { before }), ...(after !== undefined && { after }) });
}

/** What changed from one definition to another, leaf by leaf (arrays compared whole). */
export function diffDefinitions(before: unknown, after: unknown): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  collectChanges(before, after, '', changes);
  if (changes.length <= MAX_CHANGES) return changes;
  return [...changes.slice(0, MAX_CHANGES), { path: `… ${changes.length - MAX_CHANGES} more changes` }];
}

/**
 * `text` cut to its first `chars` UTF-16 units and marked with "…" when
 * longer; never between the halves of a surrogate pair, which would leave a
 * lone surrogate that PostgreSQL cannot store.
 */
export function cutText(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const last = text.charCodeAt(chars - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? chars - 1 : chars;
  return `${text.slice(0, end)}…`;
}
