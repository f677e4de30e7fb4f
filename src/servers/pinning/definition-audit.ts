import { canonicalJson, cutText, diffDefinitions, type DefinitionChange } from './tool-definition.ts';

/** A definition up to this size is copied whole into an audit event; a larger one is named by its SHA-256 and size. */
const MAX_COPIED_BYTES = 4 * 1024;
/** The diff an audit event holds stays under this many bytes of JSON. */
const MAX_DIFF_BYTES = 16 * 1024;
/** A changed value longer than this (as text) is cut to its start in the diff. */
const MAX_VALUE_CHARS = 1024;
/** Paths are built from an upstream's keys: cut too. */
const MAX_PATH_CHARS = 256;

/** One side of a change as an audit event records it. */
function definitionSide(server: string, tool: string, sha256: string | null, definition: unknown): Record<string, unknown> {
  const bytes = Buffer.byteLength(canonicalJson(definition));
  return { server, tool, sha256, bytes, ...(bytes <= MAX_COPIED_BYTES && { definition }) };
}

/** A changed value as the diff shows it: whole, or cut to its start (a non-string as JSON text). */
function shownValue(value: unknown): { value: unknown; cut: boolean } {
  const text = typeof value === 'string' ? value : canonicalJson(value);
  return text.length <= MAX_VALUE_CHARS ? { value, cut: false } : { value: cutText(text, MAX_VALUE_CHARS), cut: true };
}

/**
 * The diff bounded for the audit trail: long values cut to their start, and
 * changes past `MAX_DIFF_BYTES` left out; `cut` says what was cut, and where
 * the whole definitions are.
 */
function boundedChanges(changes: DefinitionChange[], server: string): { changes: DefinitionChange[]; cut?: string } {
  const shown: DefinitionChange[] = [];
  let used = 0;
  let valuesCut = false;
  for (const change of changes) {
    const entry: DefinitionChange = { path: cutText(change.path, MAX_PATH_CHARS) };
    for (const side of ['before', 'after'] as const) {
      if (!(side in change)) continue;
      const { value, cut } = shownValue(change[side]);
      entry[side] = value;
      valuesCut ||= cut;
    }
    const bytes = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (used + bytes > MAX_DIFF_BYTES) break;
    shown.push(entry);
    used += bytes;
  }
  const left = changes.length - shown.length;
  const notes = [
    ...(valuesCut ? [`values longer than ${MAX_VALUE_CHARS.toLocaleString('en-US')} characters are cut to their start`] : []),
    ...(left > 0 ? [`${left} more changes are left out, to keep the diff under ${MAX_DIFF_BYTES / 1024} KiB`] : []),
  ];
  if (notes.length === 0) return { changes: shown };
  return { changes: shown, cut: `${notes.join('; ')}. GET /api/v1/servers/${server}/tools shows the whole definitions.` };
}

/**
 * The `before` and `after` of an audit event recording a tool definition
 * changing from one version to another (noticed, or approved). Each side
 * names its definition by SHA-256 and size, and copies it only when small;
 * `after.changes` is the diff, cut to a bounded size, so that no event costs
 * more than about 25 KiB, whatever an upstream lists.
 */
export function definitionChangeAudit(
  server: string,
  tool: string,
  before: { sha256: string; definition: unknown },
  after: { sha256: string | null; definition: unknown },
): { before: Record<string, unknown>; after: Record<string, unknown>; verbatim: true } {
  const { changes, cut } = boundedChanges(diffDefinitions(before.definition, after.definition), server);
  return {
    verbatim: true,
    before: definitionSide(server, tool, before.sha256, before.definition),
    after: { ...definitionSide(server, tool, after.sha256, after.definition), changes, ...(cut !== undefined && { cut }) },
  };
}
