export * from './commands/index.js';
export * from './context.js';
export * from './errors.js';
export * from './format.js';
export * from './interrupt.js';
export * from './io.js';
export * from './program.js';
export * from './progress.js';
