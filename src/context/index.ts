export { getVariablePrecision, setVariablePrecision } from './precision.js';
export { getMetricsScope, metricsScope, quantizedScope, shouldQuantize } from './scopes.js';
