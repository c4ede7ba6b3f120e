export * from './chart.js';
export * from './files.js';
export * from './render.js';
