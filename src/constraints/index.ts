export { WeightClip, type WeightClipArgs, weightClip } from './weight-clip.js';
