import { DatabaseError, type ClientBase, type QueryArrayResult } from 'pg';
import * as z from 'zod';
import { nestedDeeperThan } from '../../../shared/json-depth.ts';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatTable, jsonSafeTypes } from '../format.ts';
import type { TruncatedBy } from '../row-cap.ts';
import type { DatabaseLimits, DatabaseToolContext } from '../session.ts';
import { splitStatements } from '../statements.ts';

/** Statements read through a cursor, so that rows stop at the limits instead of all arriving at once. */
const cursorKeywords = new Set(['select', 'with', 'values', 'table']);
/** Statements whose output is small and cannot be declared as a cursor. */
const directKeywords = new Set(['explain', 'show']);

const CURSOR = 'botgate_query';

export interface QueryOutcome {
  columns: string[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  /** Why rows were left off: more than `rowLimit` rows, or more than `maxResultBytes`. */
  truncatedBy?: TruncatedBy;
}

/**
 * Refuses, before anything reaches the database, anything but one
 * statement of a read-only kind; returns that statement.
 */
function checkStatement(sql: string): { text: string; viaCursor: boolean } {
  const statements = splitStatements(sql);
  const [statement] = statements;
  if (!statement) throw new ToolError('The sql argument holds no SQL statement.');
  if (statements.length > 1) {
    throw new ToolError(
      `The sql argument holds ${statements.length} statements; send exactly one statement per call. Nothing was run.`,
    );
  }
  const viaCursor = cursorKeywords.has(statement.keyword);
  if (!viaCursor && !directKeywords.has(statement.keyword)) {
    const got = statement.keyword ? statement.keyword.toUpperCase() : 'something else';
    throw new ToolError(
      `Only read-only queries can run here: SELECT, WITH, VALUES, TABLE, EXPLAIN or SHOW (this statement starts with ${got}). Nothing was run.`,
    );
  }
  return { text: statement.text, viaCursor };
}

/** Runs the user's statement; a $1 placeholder gets an explanation instead of a protocol message. */
async function runUserStatement<R>(run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DatabaseError && error.code === '08P01' && error.message.startsWith('bind message supplies 0')) {
      throw new ToolError('Query parameters such as $1 are not supported: write the values into the SQL as literals.');
    }
    throw error;
  }
}

/** Nesting a value in a result may have: as for any tool's result (see the gateway's MAX_RESULT_DEPTH). */
const MAX_VALUE_DEPTH = 512;

/** A row as JSON, to count its bytes; a value nested past what JSON.stringify can walk is refused, naming the cause. */
function rowJson(row: unknown[]): string {
  if (nestedDeeperThan(row, MAX_VALUE_DEPTH)) {
    throw new ToolError(`A value in the result is nested more than ${MAX_VALUE_DEPTH} levels deep, more than the gateway returns; select a part of it (->, #>) instead.`);
  }
  return JSON.stringify(row);
}

/** Accumulates rows up to the row and byte limits. */
function createCollector(limits: DatabaseLimits) {
  const outcome: QueryOutcome = { columns: [], rows: [], rowCount: 0, truncated: false };
  let bytes = 0;
  return {
    outcome,
    get bytes() {
      return bytes;
    },
    /** Adds rows; returns false once a limit is reached and no more rows are wanted. */
    add(result: QueryArrayResult): boolean {
      if (outcome.columns.length === 0) outcome.columns = result.fields.map((f) => f.name);
      for (const row of result.rows) {
        const size = Buffer.byteLength(rowJson(row));
        const truncatedBy =
          outcome.rows.length >= limits.rowLimit ? 'rowLimit' : bytes + size > limits.maxResultBytes ? 'maxResultBytes' : undefined;
        if (truncatedBy) {
          Object.assign(outcome, { truncated: true, truncatedBy });
          return false;
        }
        outcome.rows.push(row);
        outcome.rowCount += 1;
        bytes += size;
      }
      return true;
    },
  };
}

/**
 * Reads the statement through a cursor in growing batches: first a few rows,
 * then as many as the bytes left allow at the average row size so far, never
 * more than one row past the row limit. Each fetch gets the time left of the
 * statement timeout, so the whole read stays within it.
 */
async function readThroughCursor(client: ClientBase, text: string, limits: DatabaseLimits, signal: AbortSignal) {
  const deadline = Date.now() + limits.statementTimeoutMs;
  // The extended protocol refuses several statements in one message: a second line of defence after splitStatements.
  const declare = { text: `declare ${CURSOR} no scroll cursor for ${text}`, queryMode: 'extended' };
  await runUserStatement(() => client.query(declare));
  const collector = createCollector(limits);
  let batch = Math.min(16, limits.rowLimit + 1);
  for (;;) {
    signal.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new ToolError(`The query ran past the time limit of ${limits.statementTimeoutMs} ms; make it cheaper (filter, aggregate, add LIMIT).`);
    }
    await client.query("select set_config('statement_timeout', $1, true)", [String(remaining)]);
    const result = await client.query({ text: `fetch forward ${batch} from ${CURSOR}`, rowMode: 'array', types: jsonSafeTypes });
    if (!collector.add(result) || result.rows.length < batch) return collector.outcome;
    const rowsWanted = limits.rowLimit + 1 - collector.outcome.rowCount;
    const averageRow = Math.max(1, collector.bytes / collector.outcome.rowCount);
    const rowsThatFit = Math.floor((limits.maxResultBytes - collector.bytes) / averageRow) + 1;
    batch = Math.max(1, Math.min(batch * 4, rowsWanted, rowsThatFit));
  }
}

async function readDirectly(client: ClientBase, text: string, limits: DatabaseLimits): Promise<QueryOutcome> {
  const query = { text, rowMode: 'array', types: jsonSafeTypes, queryMode: 'extended' } as const;
  const collector = createCollector(limits);
  collector.add(await runUserStatement(() => client.query(query)));
  return collector.outcome;
}

function describeOutcome(outcome: QueryOutcome, limits: DatabaseLimits): string {
  const count = `(${outcome.rowCount} ${outcome.rowCount === 1 ? 'row' : 'rows'})`;
  const table = outcome.columns.length > 0 ? `${formatTable(outcome.columns, outcome.rows)}\n${count}` : count;
  if (outcome.truncatedBy === 'rowLimit') {
    return `${table}\nTruncated: the query returns more than ${limits.rowLimit} rows. Add WHERE, LIMIT or aggregates to see the rest.`;
  }
  if (outcome.truncatedBy === 'maxResultBytes') {
    return `${table}\nTruncated: the result passed ${limits.maxResultBytes} bytes. Select fewer or narrower columns, or fewer rows.`;
  }
  return table;
}

/** Registers `query`: one read-only SQL statement, with its rows as a text table and as structured content. */
export function registerQueryTool(registry: ToolRegistry, ctx: DatabaseToolContext): void {
  const { limits } = ctx;
  registry.registerTool(
    {
      name: 'query',
      title: 'Run a read-only SQL query',
      description:
        'Runs one read-only SQL statement (SELECT, WITH, VALUES, TABLE, EXPLAIN or SHOW) against the PostgreSQL database ' +
        `in a READ ONLY transaction that is always rolled back. At most ${limits.rowLimit} rows and ${limits.maxResultBytes} bytes ` +
        `come back (the result says when it was truncated), and the statement is stopped after ${limits.statementTimeoutMs} ms. ` +
        'Writes, DDL, transaction control and several statements in one call are refused. Use list_tables and describe_table ' +
        'first to learn table and column names; prefer aggregates and LIMIT over reading whole tables.',
      inputSchema: z.object({
        sql: z.string().min(1).describe('Exactly one SQL statement; a trailing semicolon is fine. No $1 parameters: inline literals.'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ sql }, { signal }) => {
      const { text, viaCursor } = checkStatement(sql);
      const outcome = await ctx.readOnly(signal, (client) =>
        viaCursor ? readThroughCursor(client, text, limits, signal) : readDirectly(client, text, limits),
      );
      return textResult(describeOutcome(outcome, limits), { ...outcome });
    },
  );
}
