import type { ChangeBus, ChangeEvent } from '../shared/change-bus.ts';

/** The bus topic of changes to what a tenant's servers list. */
export const LISTS_CHANGED_TOPIC = 'servers.lists_changed';

/** The lists of an MCP server a change may affect. */
export type ListKind = 'tools' | 'prompts' | 'resources';

/** Every list of a server: what creating, reconfiguring or deleting it changes. */
export const ALL_LISTS: readonly ListKind[] = ['tools', 'prompts', 'resources'];

/** What changed: lists of one server of one tenant. */
export interface ListsChange {
  tenantId: string;
  serverSlug: string;
  lists: readonly ListKind[];
}

/**
 * Tells whoever listens that a server's tools (by default) or other lists
 * changed. Called after the change is committed; never throws.
 */
export type NotifyToolsChanged = (tenantId: string, serverSlug: string, lists?: readonly ListKind[]) => void;

/** A `NotifyToolsChanged` that publishes on `bus`. */
export function publishListsChanges(bus: ChangeBus): NotifyToolsChanged {
  return (tenantId, serverSlug, lists = ['tools']) => bus.publish(LISTS_CHANGED_TOPIC, { tenantId, server: serverSlug, lists: [...lists] });
}

/** The change an event announces, or undefined when it is not one of these (or is malformed). */
export function readListsChange(event: ChangeEvent): ListsChange | undefined {
  if (event.kind !== 'message' || event.topic !== LISTS_CHANGED_TOPIC) return undefined;
  const { tenantId, server, lists } = event.payload;
  if (typeof server !== 'string' || !Array.isArray(lists)) return undefined;
  return { tenantId, serverSlug: server, lists: ALL_LISTS.filter((kind) => lists.includes(kind)) };
}
