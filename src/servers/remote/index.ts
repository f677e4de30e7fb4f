export { createRemoteSource, type RemoteSource, type RemoteSourceOptions } from './remote-source.ts';
export { UpstreamError, type UpstreamFailure } from './upstream-error.ts';
