export * from './report.js';
export * as ste from './ste/index.js';
