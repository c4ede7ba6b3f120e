export { ACTIVATIONS, hardTanh, leakyTanh } from './activations.js';
