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
