export { createApp, type AppDependencies } from './app.ts';
export { listen, type RunningServer } from './server.ts';
export { allowedHostnames } from './host-guard.ts';
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
