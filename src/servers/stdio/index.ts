export { createStdioSource, type StdioSource, type StdioSourceOptions } from './stdio-source.ts';
