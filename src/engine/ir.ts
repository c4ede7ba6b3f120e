/**
 * The engine's graph IR: what a `.lbm` file describes and what the converter builds.
 *
 * Layout conventions (the same as Larq Compute Engine, LCE):
 * - Tensors are NHWC (rank 4) or NC (rank 2), batch first. The batch size is free; every other
 *   dimension is fixed by the graph's input shape and inferred for every node.
 * - A `float` value holds float32 numbers. A `bits` value holds signs bitpacked along the innermost
 *   (channel) axis: element i of a 32-bit word is bit i (least significant first), bit 1 means -1
 *   (x < 0) and bit 0 means +1 (so sign(0) = +1). Each pixel (every position of the outer axes)
 *   owns ceil(C / 32) words; padding bits are 0.
 * - A binary product of a packed row x and a packed row w over K real bits is
 *   acc = popcount(x XOR w) (the number of sign mismatches) and dot = K - 2 acc
 *   (Rastegari et al., XNOR-Net, ECCV 2016; LCE's bconv2d).
 *
 * Constants (weights, per-channel multipliers, thresholds) live in the graph's constant table and
 * nodes refer to them by name.
 */

/** Element type of a stored constant. `uint32` constants hold bitpacked signs. */
export type ConstDType = 'float32' | 'int32' | 'uint32';

/** Typed array that backs a constant of the given dtype. */
export type ConstData = Float32Array | Int32Array | Uint32Array;

/** A constant tensor stored in the file's data section (little-endian). */
export interface Constant {
  dtype: ConstDType;
  shape: number[];
  data: ConstData;
}

/** Spatial padding mode, as in Keras: 'valid' (none) or 'same' (output size ceil(in / stride)). */
export type Padding = 'valid' | 'same';

/** A closed interval `[min, max]`; `null` means unbounded on that side. */
export type Range = [number | null, number | null];

/**
 * Output transform with a float result, per output channel c:
 * `y = clamp(clamp(dot, dotClamp) * multiplier[c] + bias[c], outClamp)`.
 *
 * `dot` is the +-1 dot product (binary ops: K - 2 acc, minus the zero-padding correction) or the
 * float accumulation (float ops, where `dotClamp` is not allowed). `multiplier` and `bias` fold a
 * following BatchNorm: multiplier = gamma / sqrt(var + eps), bias = beta - mean * multiplier, times
 * any per-channel scale (magnitude-aware sign). `dotClamp` fuses an activation applied to the raw
 * convolution result (LCE's clamp on the accumulator); `outClamp` fuses a ReLU ([0, null]) applied
 * after the affine part. Missing multiplier = 1, missing bias = 0.
 */
export interface FloatTransform {
  kind: 'float';
  /** Name of a float32 constant of shape [C], or undefined for 1. */
  multiplier?: string;
  /** Name of a float32 constant of shape [C], or undefined for 0. */
  bias?: string;
  /** Integer clamp on the binary dot product (binary ops only). */
  dotClamp?: Range;
  /** Clamp on the final value, e.g. [0, null] for a fused ReLU. */
  outClamp?: Range;
}

/**
 * Output transform that writes packed bits directly, for a consumer that binarizes (LCE's scheme):
 * `bit[c] = (sign[c] * dot < threshold[c]) ? 1 : 0`, with sign[c] in {-1, 0, 1}.
 *
 * For y = gamma * dot + beta and a consumer computing sign(y) (bit 1 iff y < 0):
 * gamma > 0 gives sign = 1, threshold = the smallest integer t with y(t) >= 0 (bit iff dot < t);
 * gamma < 0 gives sign = -1, threshold = -(the largest integer t with y(t) >= 0), which is LCE's
 * "flip the weights of channels with gamma < 0"; gamma = 0 (or a clamp range not crossing the
 * threshold) gives sign = 0 and threshold 1 (constant bit 1) or 0 (constant bit 0).
 * In LCE's accumulator form (one-padding, sign 1): bit = acc > tau with
 * tau = floor((beta / |gamma| + K) / 2). {@link thresholdsFromAffine} computes these exactly.
 */
export interface BitsTransform {
  kind: 'bits';
  /** Name of an int32 constant of shape [C] with values in {-1, 0, 1}. */
  sign: string;
  /** Name of an int32 constant of shape [C]. */
  threshold: string;
}

/** Output transform of a binary conv2d or dense. */
export type OutputTransform = FloatTransform | BitsTransform;

interface NodeBase {
  /** Unique name; it is also the name of the node's output value. */
  name: string;
  /** Names of the input values (graph inputs or earlier nodes). */
  inputs: string[];
}

/** Shared attributes of 2D windows (convolution and pooling). */
export interface Window2D {
  /** [kh, kw]. */
  kernelSize: [number, number];
  /** [sh, sw]. */
  strides: [number, number];
  padding: Padding;
}

/**
 * Binary conv2d: packed input [N,H,W,Cin], packed weights `uint32 [Cout, kh, kw, ceil(Cin/32)]`.
 * `dot[n,y,x,o] = sum over taps t and channels c of xs * ws` with xs, ws in {-1, +1}; for 'same'
 * padding, taps outside the input count as +1 (padValue 1, LCE's native one-padding) or 0
 * (padValue 0, Keras's zero padding, applied exactly by a per-edge correction).
 */
export interface BConv2DNode extends NodeBase, Window2D {
  op: 'bconv2d';
  filters: number;
  dilations: [number, number];
  padValue: 0 | 1;
  weights: string;
  transform: OutputTransform;
}

/**
 * Binary dense: packed input [N,C] or [N,H,W,C] (a flattened NHWC tensor needs no Flatten:
 * the weights keep the per-pixel word padding), weights `uint32 [units, ...inner dims, ceil(C/32)]`.
 * K = product of the input's non-batch dims.
 */
export interface BDenseNode extends NodeBase {
  op: 'bdense';
  units: number;
  weights: string;
  transform: OutputTransform;
}

/**
 * Float conv2d: float input [N,H,W,Cin]. Weights either float32 `[kh, kw, Cin, Cout]` (tfjs's
 * HWIO layout) or binary (+-1) as packed `uint32 [Cout, kh, kw, ceil(Cin/32)]`: the first layer of
 * a binarized network, whose input is not binarized. Padded taps hold `padValue` (normally 0).
 */
export interface Conv2DNode extends NodeBase, Window2D {
  op: 'conv2d';
  filters: number;
  dilations: [number, number];
  padValue: number;
  weights: string;
  transform: FloatTransform;
}

/** Float dense: float input [N, K] (or [N,H,W,C], read flat); weights float32 [K, units] or packed uint32 [units, ceil(K/32)]. */
export interface DenseNode extends NodeBase {
  op: 'dense';
  units: number;
  weights: string;
  transform: FloatTransform;
}

/** Binarize float to packed bits: bit = 1 iff x < 0 (sign(0) = +1). */
export interface BinarizeNode extends NodeBase {
  op: 'binarize';
}

/** Max pool on float values, or on packed bits (max of +-1 values = AND of sign bits). Padded taps are ignored. */
export interface MaxPoolNode extends NodeBase, Window2D {
  op: 'maxpool2d';
}

/** Average pool on float values; 'same' padding averages over the taps inside the input (as tfjs). */
export interface AvgPoolNode extends NodeBase, Window2D {
  op: 'avgpool2d';
}

/** Global average pool: [N,H,W,C] float -> [N,C]. */
export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalavgpool';
}

/** Flatten a float value to [N, rest]. */
export interface FlattenNode extends NodeBase {
  op: 'flatten';
}

/** Element-wise sum of two or more float values of the same shape (residual connections). */
export interface AddNode extends NodeBase {
  op: 'add';
}

/** Concatenation of two or more float values along the last (channel) axis; the other dims must match. */
export interface ConcatNode extends NodeBase {
  op: 'concat';
}

/**
 * Per-channel affine map on float values: y = f32(f32(x * multiplier[c]) + bias[c]) (a folded BatchNorm).
 *
 * With `divisor` (BatchNorm form, tfjs-backend-wasm's FusedBatchNorm kernel operation for operation):
 * y = f32(bias[c] + f32(f32(x - mean[c]) * multiplier[c]) / divisor[c]), the sum and quotient in
 * float64, with multiplier = gamma, bias = beta, divisor = f32(sqrt(f32(variance + epsilon))). The
 * converter uses it where a BatchNorm output feeds a float sum (a residual add) that is later binarized:
 * no integer threshold absorbs a rounding difference there, so the engine rounds exactly as tfjs does.
 */
export interface AffineNode extends NodeBase {
  op: 'affine';
  multiplier?: string;
  bias?: string;
  /** BatchNorm form only: the moving mean (missing = 0). */
  mean?: string;
  /** Selects the BatchNorm form: f32(sqrt(f32(moving variance + epsilon))) per channel. */
  divisor?: string;
}

/** y = max(x, 0) on float values. */
export interface ReluNode extends NodeBase {
  op: 'relu';
}

/** Softmax over the last axis of a float value: y_i = exp(x_i - max x) / sum_j exp(x_j - max x). */
export interface SoftmaxNode extends NodeBase {
  op: 'softmax';
}

/** Any node of the graph. */
export type GraphNode =
  | BConv2DNode
  | BDenseNode
  | Conv2DNode
  | DenseNode
  | BinarizeNode
  | MaxPoolNode
  | AvgPoolNode
  | GlobalAvgPoolNode
  | FlattenNode
  | AddNode
  | ConcatNode
  | AffineNode
  | ReluNode
  | SoftmaxNode;

/** The op names of the IR. */
export type OpName = GraphNode['op'];

/** Every op name, in one list (the format's validator and the tests iterate it). */
export const OP_NAMES: readonly OpName[] = [
  'bconv2d',
  'bdense',
  'conv2d',
  'dense',
  'binarize',
  'maxpool2d',
  'avgpool2d',
  'globalavgpool',
  'flatten',
  'add',
  'concat',
  'affine',
  'relu',
  'softmax',
];

/** A graph input: a float tensor [batch, ...shape]. */
export interface GraphInput {
  name: string;
  /** Shape without the batch axis, e.g. [28, 28, 1]. */
  shape: number[];
  /**
   * The input is 8-bit data (like TFLite's uint8-input models): a byte q stands for the float
   * x = f32(q * scale + offset), e.g. { scale: 1 / 127.5, offset: -1 } for pixels scaled to [-1, 1].
   * Then `net.predict(Uint8Array, shape)` is accepted, and a first dense layer with +-1 weights runs
   * exactly in integer SIMD on the bytes.
   */
  uint8?: InputScaling;
}

/** How a byte of 8-bit input data maps to the model's float input: x = f32(q * scale + offset). */
export interface InputScaling {
  /** Positive, finite. */
  scale: number;
  /** Finite. */
  offset: number;
}

/**
 * A whole model: inputs, nodes in topological order (each input defined before use), outputs and
 * constants. One input is supported by the runtime; outputs must be float values.
 */
export interface Graph {
  inputs: GraphInput[];
  nodes: GraphNode[];
  outputs: string[];
  constants: Record<string, Constant>;
  /** Free-form metadata (e.g. the source model's name, converter version). */
  metadata?: Record<string, string>;
}

/** Kind and per-sample shape of a value, as inferred from the graph. */
export interface ValueInfo {
  kind: 'float' | 'bits';
  /** Shape without the batch axis. */
  shape: number[];
}
