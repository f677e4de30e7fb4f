export { createProxySource, type ProxySource, type ProxySourceOptions, type RemoteSource } from './proxy-source.ts';
export { createResourceWatches, type ResourceUpdate, type ResourceWatches, type ResourceWatchListener } from './resource-watch.ts';
export { relayResourceUpdates, subscribeOnClient, withResourceWatches } from './watched-source.ts';
export { createRemoteSource, type RemoteSourceOptions } from './remote-source.ts';
export { abortable, trackPending, UPSTREAM_ASKABLE, type PendingConnection, type UpstreamConnector } from './upstream-connection.ts';
export { isTimeout, UpstreamError, type UpstreamFailure } from './upstream-error.ts';
export { createHeldCallRelay, type HeldCallLink, type HeldCallRelay } from './held-call-relay.ts';
