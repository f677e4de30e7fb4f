export { createPinnedSource, refusedToolsOf, type PinnedSourceOptions } from './pinned-source.ts';
export type { RefusedTool } from './tool-check.ts';
export { createToolPinService, type ToolPinInfo, type ToolPinService } from './tool-pin.service.ts';
export {
  canonicalJson,
  definitionOf,
  diffDefinitions,
  digestDefinition,
  type DefinitionChange,
  type ToolDefinition,
} from './tool-definition.ts';
