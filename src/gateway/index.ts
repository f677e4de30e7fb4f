export { createApp, type AppDependencies } from './app.ts';
export { checkCanListen, listen, type RunningServer } from './server.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { allowedHostnames } from './host-guard.ts';
export { createOAuthModule, type OAuthModule } from './oauth/index.ts';
export { endpointExists } from './endpoints.ts';
export { createLoginThrottle, type LoginThrottle } from './session/index.ts';
export {
  createOperatorCommands,
  operatorCommandSchemas,
  OPERATOR_COMMANDS,
  type OperatorCommandName,
  type OperatorCommands,
} from './operator/commands.ts';
export {
  generateOperatorToken,
  readOperatorCredential,
  removeOperatorCredential,
  writeOperatorCredential,
  type OperatorCredential,
} from '../shared/operator-credential.ts';
