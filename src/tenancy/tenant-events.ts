import type { ChangeBus, ChangeEvent } from '../shared/change-bus.ts';

/** The bus topic of a tenant's deletion: every node lets go of what it holds of the tenant. */
export const TENANT_DELETED_TOPIC = 'tenants.deleted';

/** Tells every node, this one included, that a tenant was deleted. Call once the deletion is committed; never throws. */
export function publishTenantDeleted(bus: ChangeBus): (tenantId: string) => void {
  return (tenantId) => bus.publish(TENANT_DELETED_TOPIC, { tenantId });
}

/** The deleted tenant's id, when the event announces a deletion. */
export function readTenantDeleted(event: ChangeEvent): string | undefined {
  return event.kind === 'message' && event.topic === TENANT_DELETED_TOPIC ? event.payload.tenantId : undefined;
}

/**
 * The bus topic of a change that may end or narrow some of a tenant's
 * credentials (a key revoked or narrowed, a member removed, an OAuth approval
 * withdrawn): every node checks again, at once, the streams it holds open on them.
 */
export const CREDENTIALS_CHANGED_TOPIC = 'tenants.credentials_changed';

/** Tells every node, this one included, that some of a tenant's credentials changed. Call once the change is committed; never throws. */
export function publishCredentialsChanged(bus: ChangeBus): (tenantId: string) => void {
  return (tenantId) => bus.publish(CREDENTIALS_CHANGED_TOPIC, { tenantId });
}

/** The tenant whose credentials changed, when the event says so. */
export function readCredentialsChanged(event: ChangeEvent): string | undefined {
  return event.kind === 'message' && event.topic === CREDENTIALS_CHANGED_TOPIC ? event.payload.tenantId : undefined;
}
