import { ConfigError, describe, UnsupportedError } from '../../errors.js';
import { type DecodedModel, decodeModel, encodeModel } from '../format/lbm.js';
import { checkInput } from '../input-check.js';
import type { FloatTransform, Graph, GraphNode, ValueInfo } from '../ir.js';
import { chainValue } from '../reference/float.js';
import { runNode } from '../reference/run.js';
import type { FloatTensor, Tensor } from '../reference/tensor.js';
import { floatThreshold, floatTransform, isPlainThreshold } from '../reference/transform.js';
import { sizeOf, wordsFor } from '../shapes.js';
import { type Calibration, calibrate, f64Slots, JOB, Kernels, type PopcountStrategy } from './kernels.js';
import {
  type Geometry,
  type PlacedTransform,
  type PreparedBConv,
  type PreparedFloatMatmul,
  type PreparedNode,
  type PreparedOther,
  prepareNode,
  u8ConvTables,
  u8DenseTables,
  weightSums,
} from './prepare.js';

/** GEMM rows a binary layer's job takes per step (their sums, 256 B each at 64 units, stay in L1). */
const CHUNK_ROWS = 128;

/** Options of {@link load}. */
export interface LoadOptions {
  /**
   * Threads for the large GEMMs (default 1): worker_threads in Node, Web Workers in a cross-origin-isolated
   * page, sharing one WebAssembly.Memory. Where threads are unavailable the net runs on one thread and
   * `info.threadFallback` says why. Call `net.dispose()` to stop the workers.
   */
  threads?: number;
  /** Binary GEMM popcount strategy; 'auto' (default) calibrates at start-up and picks the faster. */
  popcount?: 'auto' | PopcountStrategy;
  /** Name of the file in error messages (default 'model.lbm'). */
  source?: string;
  /** Upper bound on temporary memory per predict() chunk in bytes (default 32 MiB); larger batches run in chunks. */
  maxChunkBytes?: number;
}

/** One node of a loaded network, as {@link NetInfo} lists it. */
export interface NodeInfo {
  name: string;
  op: GraphNode['op'];
  kind: 'float' | 'bits';
  /** Output shape without the batch axis. */
  shape: number[];
  /** Binary multiply-accumulates per sample (XNOR-popcount), 0 for other ops. */
  binaryMacs: number;
  /** Float multiply-accumulates per sample. */
  floatMacs: number;
}

/** What a loaded network holds and how it runs. */
export interface NetInfo {
  inputShape: number[];
  outputShape: number[];
  nodes: NodeInfo[];
  /** Number of nodes per op. */
  opCounts: Partial<Record<GraphNode['op'], number>>;
  /** Size of the .lbm file in bytes. */
  fileBytes: number;
  /** Bytes of constants in the file. */
  constantBytes: number;
  /** Binary weights (1 bit each, real bits only). */
  binaryWeights: number;
  /** Float32 constants (float weights, multipliers, biases). */
  floatParams: number;
  binaryMacs: number;
  floatMacs: number;
  popcount: PopcountStrategy;
  calibration: Calibration | null;
  threads: number;
  /** Why fewer threads than requested run, or null. */
  threadFallback: string | null;
  /** WebAssembly memory in bytes after loading (weights and tables). */
  memoryBytes: number;
  /**
   * Runs of nodes that run as one kernel with bit for bit the same result, as 'first+last a b' (first
   * and last op, first and last node name): 'conv2d+maxpool2d', a float conv2d whose only consumer is
   * a max pool with non-overlapping windows; 'dense+binarize' (denseSigns), a dense with +-1 weights
   * whose output reaches a binarize only through affine / relu nodes; 'affine+binarize' or
   * 'relu+binarize' (thresholdSigns), such a chain on any float value.
   */
  fused: string[];
  /**
   * With an 8-bit input scaling (GraphInput.uint8): the nodes that run on the bytes of a Uint8Array
   * input in integers (a dense with +-1 weights: denseU8; a 'valid' conv with +-1 weights fused with
   * its max pool: convPoolU8). Empty otherwise.
   */
  uint8Nodes: string[];
  /**
   * With worker threads: whether a batch of at least 4 samples per thread is split over the threads
   * (into 2 parts per thread, each the whole network on its samples, claimed by whichever thread is
   * free) rather than node by node. False when some node reads the output of a step run in JavaScript
   * (softmax, concat) or with one thread.
   */
  batchSplit: boolean;
  metadata: Record<string, string>;
}

/** A prediction: float32 data and its shape (batch first). */
export interface Prediction {
  data: Float32Array;
  shape: number[];
}

/** One share of a batch (see Net.runBatch): where its values live, for samples [offset, offset + n). */
interface BatchPart {
  slots: Map<string, Slot>;
  offset: number;
  n: number;
}

interface Slot {
  ptr: number;
  info: ValueInfo;
  /** The 8-bit data behind a graph input given as a Uint8Array (and flattens of it), or 0. */
  u8?: number;
}

function valueBytes(info: ValueInfo, n: number): number {
  const inner =
    info.kind === 'bits'
      ? sizeOf(info.shape.slice(0, -1)) * wordsFor(info.shape[info.shape.length - 1])
      : sizeOf(info.shape);
  return 4 * n * inner;
}

/**
 * A loaded bitpacked network running on the engine's WebAssembly kernels. Binary convolutions run as
 * packed im2col + binary GEMM (LCE's scheme); float convolutions and dense layers as float im2col + SIMD
 * GEMM; pools, add, affine and relu have their own WASM kernels; softmax (a few logits per sample)
 * runs the reference TypeScript code.
 */
export class Net {
  /** Structure, sizes and run settings. */
  readonly info: NetInfo;
  private readonly prepared: PreparedNode[];
  /** Node index -> the fused pair it starts (the next node's output is computed in one kernel). */
  private readonly fusions: Map<number, Fusion>;
  /** With 8-bit input: whether some node reads the dequantized float input (else only denseU8 does). */
  private readonly floatInputNeeded: boolean;
  /** With an 8-bit graph input: f32(q * scale + offset) for each byte q (f32 [256]), else 0. */
  private readonly dequantize: number;
  /** The popcount strategy came from the calibration (not forced by the caller). */
  private readonly calibrated: boolean;
  /** The calibrated strategy for rows of 65 to 128 bytes (see Calibration.midStrategy). */
  private readonly midStrategy: PopcountStrategy;
  /**
   * Whether a batch may be split over the threads (see runBatch): no node reads the output of a step
   * that runs in JavaScript (softmax, concat), since those run after the worker's kernels.
   */
  private readonly splittable: boolean;
  /**
   * The recorded parts of the last split batch (see runBatch), reused for the next batch of the same
   * size and input type while no other run has reset the temporary memory (Kernels.epoch).
   */
  private splitPlan: {
    n: number;
    u8: boolean;
    epoch: number;
    parts: BatchPart[];
    table: number;
    count: number;
    deferred: Array<() => void>;
  } | null = null;
  private readonly sampleBytes: number;

  /** Use {@link load}. */
  constructor(
    private readonly k: Kernels,
    private readonly model: DecodedModel,
    private readonly strategy: PopcountStrategy,
    fileBytes: number,
    cal: Calibration | null,
    private readonly maxChunkBytes: number,
  ) {
    const { graph, checked } = model;
    this.prepared = graph.nodes.map((node) =>
      prepareNode(
        k,
        node,
        node.inputs.map((i) => checked.values.get(i)!),
        graph.constants,
        strategy === 'scalar' ? 2 : 4,
        cal !== null,
        cal?.midStrategy === 'scalar' ? 2 : 4,
      ),
    );
    this.midStrategy = cal?.midStrategy ?? strategy;
    this.calibrated = cal !== null;
    const jsSteps = new Set(
      graph.nodes.filter((n) => n.op === 'softmax' || n.op === 'concat').map((n) => n.name),
    );
    this.splittable = graph.nodes.every((n) => n.inputs.every((i) => !jsSteps.has(i)));
    this.fusions = planFusions(k, this.prepared, graph, checked.values);
    this.floatInputNeeded = prepareU8(k, this.prepared, graph, this.fusions);
    const q = graph.inputs[0].uint8;
    this.dequantize = q ? k.put(Float32Array.from({ length: 256 }, (_, v) => v * q.scale + q.offset)) : 0;
    k.commit();
    this.sampleBytes = this.estimateSampleBytes();
    // One run on zeros: WebAssembly engines compile hot functions with their optimizing tier only after
    // a first (baseline-compiled) call, so the first real predict() would be several times slower.
    const inShape = graph.inputs[0].shape;
    this.runChunk(new Float32Array(sizeOf(inShape)), 1);
    // With workers: a few runs on a batch large enough to split the big jobs, so that the workers'
    // code is warm too (each worker is a separate engine instance).
    if (k.threads > 1) {
      const batch = Math.max(1, Math.min(64, Math.floor(maxChunkBytes / this.sampleBytes)));
      const zeros = new Float32Array(batch * sizeOf(inShape));
      for (let i = 0; i < 3; i++) this.runBatch(zeros, batch);
    }
    k.reset();
    this.info = {
      ...describeNet(model, fileBytes, strategy, cal, k.used),
      threads: k.threads,
      threadFallback: k.threadFallback,
      fused: [...this.fusions.values()].map(
        (f) => `${f.first.node.op}+${f.second.node.op} ${f.first.node.name} ${f.second.node.name}`,
      ),
      uint8Nodes: this.prepared
        .filter((p) => (p.op === 'dense' || p.op === 'conv2d') && (p.u8 !== null || p.u8conv !== null))
        .map((p) => p.node.name),
      batchSplit: k.threads > 1 && this.splittable,
    };
  }

  /** Stops worker threads (if any); the net can still predict afterwards, on one thread. */
  dispose(): void {
    this.k.dispose();
  }

  private estimateSampleBytes(): number {
    const { checked } = this.model;
    let bytes = valueBytes(checked.values.get(this.model.graph.inputs[0].name)!, 1);
    for (const p of this.prepared) {
      bytes += valueBytes(checked.values.get(p.node.name)!, 1) + 64;
      if (p.op === 'bconv2d') bytes += p.g.oh * p.g.ow * (p.rowWords + p.node.filters) * 4 + 128;
      else if (p.op === 'bdense') bytes += (p.rowWords + p.node.units) * 4 + 128;
      else if (p.op === 'conv2d' || p.op === 'dense')
        bytes += (p.g ? p.g.oh * p.g.ow : 1) * (p.k + p.ldb) * 4 + 128;
    }
    return bytes;
  }

  /**
   * Runs the network on `input` of shape [batch, ...inputShape] (float32, NHWC) and returns the first
   * graph output. A model converted with `uint8Input` also takes the raw 8-bit data as a Uint8Array
   * (x = q * scale + offset; a first dense layer with +-1 weights then runs exactly in integers).
   * Throws ShapeError for a wrong shape, length or dtype.
   */
  predict(input: Float32Array | Uint8Array, shape: number[]): Prediction {
    return this.run(input, shape, 'Net.predict input')[this.model.graph.outputs[0]];
  }

  /** Like {@link predict} for a graph with several outputs: every output by name. */
  predictAll(input: Float32Array | Uint8Array, shape: number[]): Record<string, Prediction> {
    return this.run(input, shape, 'Net.predictAll input');
  }

  private run(input: Float32Array | Uint8Array, shape: number[], where: string): Record<string, Prediction> {
    const graph = this.model.graph;
    const n = checkInput(graph.inputs[0], input, shape, where);
    const outs: Record<string, Prediction> = {};
    for (const name of graph.outputs) {
      const info = this.model.checked.values.get(name)!;
      outs[name] = { data: new Float32Array(n * sizeOf(info.shape)), shape: [n, ...info.shape] };
    }
    const inPer = sizeOf(graph.inputs[0].shape);
    const chunk = Math.max(1, Math.min(n, Math.floor(this.maxChunkBytes / this.sampleBytes)));
    for (let b = 0; b < n; b += chunk) {
      const m = Math.min(chunk, n - b);
      for (const part of this.runBatch(input.subarray(b * inPer, (b + m) * inPer), m))
        for (const name of graph.outputs) {
          const per = outs[name].data.length / n;
          outs[name].data.set(this.k.f32(part.slots.get(name)!.ptr, part.n * per), (b + part.offset) * per);
        }
    }
    return outs;
  }

  /**
   * Runs `n` checked samples. With worker threads and at least 4 samples per thread, the batch is
   * split into parts (2 per thread, at least 4 samples each): each part is the whole network on its
   * samples, recorded here as a program (one synchronisation per call instead of one per large node),
   * and every thread, this one included, claims parts until none is left, so a thread the OS runs late
   * takes fewer. Otherwise the large nodes are split over the threads one by one. Returns where each
   * part's values live: samples [offset, offset + n) of the batch.
   */
  private runBatch(input: Float32Array | Uint8Array, n: number): BatchPart[] {
    const k = this.k;
    const threads = k.threads;
    // At least 4 samples per part: fewer would spend more on the parts' start-up than they save.
    if (threads < 2 || n < 4 * threads || !this.splittable)
      return [{ slots: this.runChunk(input, n), offset: 0, n }];
    const per = input.length / n;
    const u8 = input instanceof Uint8Array;
    const inputName = this.model.graph.inputs[0].name;
    let plan = this.splitPlan;
    if (plan && plan.n === n && plan.u8 === u8 && plan.epoch === k.epoch) {
      // Nothing ran since the programs were recorded: they, their argument blocks and their buffers
      // are still in place; only the input changes.
      for (const part of plan.parts)
        this.writeInput(
          part.slots.get(inputName)!,
          input.subarray(part.offset * per, (part.offset + part.n) * per),
        );
    } else {
      k.reset();
      const count = Math.min(2 * threads, Math.floor(n / 4));
      const parts: BatchPart[] = [];
      const programs: number[] = [];
      const deferred: Array<() => void> = [];
      for (let t = 0, offset = 0; t < count; t++) {
        const m = Math.floor((n * (t + 1)) / count) - Math.floor((n * t) / count);
        const sub = input.subarray(offset * per, (offset + m) * per);
        const rec = k.record(() => this.runGraph(sub, m, true));
        parts.push({ slots: rec.result, offset, n: m });
        programs.push(rec.program);
        deferred.push(...rec.deferred);
        offset += m;
      }
      const table = k.programTable(programs);
      plan = { n, u8, epoch: k.epoch, parts, table, count, deferred };
      this.splitPlan = plan;
    }
    k.runPrograms(plan.table, plan.count);
    for (const step of plan.deferred) step();
    return plan.parts;
  }

  /**
   * Writes input data into its slot: floats as they are, bytes as they are (runGraph dequantizes them
   * into the slot's float buffer, if any, as x = f32(q * scale + offset)).
   */
  private writeInput(slot: Slot, input: Float32Array | Uint8Array): void {
    const k = this.k;
    if (input instanceof Uint8Array) new Uint8Array(k.memory.buffer, slot.u8, input.length).set(input);
    else k.f32(slot.ptr, input.length).set(input);
  }

  /**
   * Runs the whole batch at once and returns a copy of every value (graph input and each node's
   * output; packed values as their words), for tests and debugging.
   */
  trace(input: Float32Array | Uint8Array, shape: number[]): Map<string, Tensor> {
    const n = checkInput(this.model.graph.inputs[0], input, shape, 'Net.trace input');
    // Unfused, so that every intermediate value exists.
    const slots = this.runChunk(input, n, false);
    const out = new Map<string, Tensor>();
    for (const [name, s] of slots) {
      const len = valueBytes(s.info, n) / 4;
      const full = [n, ...s.info.shape];
      out.set(
        name,
        s.info.kind === 'bits'
          ? { kind: 'bits', shape: full, data: this.k.u32(s.ptr, len).slice() }
          : { kind: 'float', shape: full, data: this.k.f32(s.ptr, len).slice() },
      );
    }
    return out;
  }

  /**
   * Runs `n` samples already checked; returns where each value lives (without the values inside a
   * fused pair when `fuse`).
   */
  private runChunk(input: Float32Array | Uint8Array, n: number, fuse = true): Map<string, Slot> {
    this.k.reset();
    return this.runGraph(input, n, fuse);
  }

  /** runChunk without freeing the temporary memory first. */
  private runGraph(input: Float32Array | Uint8Array, n: number, fuse: boolean): Map<string, Slot> {
    const k = this.k;
    const graph = this.model.graph;
    const values = this.model.checked.values;
    const slots = new Map<string, Slot>();
    const gi = graph.inputs[0];
    // Bytes (and the float input x = f32(q * scale + offset) unless only 8-bit kernels read it; trace()
    // shows it), or floats.
    const u8 = input instanceof Uint8Array;
    const slot: Slot = {
      ptr: !u8 || this.floatInputNeeded || !fuse ? k.alloc(input.length * 4) : 0,
      info: values.get(gi.name)!,
      u8: u8 ? k.alloc(input.length) : 0,
    };
    this.writeInput(slot, input);
    // Part of the run (and of a thread's recorded part), so that each part dequantizes its own samples.
    if (u8 && slot.ptr) k.x.dequantizeU8(slot.u8!, slot.ptr, input.length, this.dequantize);
    slots.set(gi.name, slot);
    for (let i = 0; i < this.prepared.length; i++) {
      const p = this.prepared[i];
      const ins = p.node.inputs.map((name) => slots.get(name)!);
      if (p.node.op === 'flatten') {
        // The same data under another shape (and the same 8-bit data, if any).
        slots.set(p.node.name, { ...ins[0], info: values.get(p.node.name)! });
        continue;
      }
      const f = fuse ? this.fusions.get(i) : undefined;
      if (f) {
        const info = values.get(f.second.node.name)!;
        slots.set(f.second.node.name, { ptr: this.runFused(f, ins[0], info, n), info });
        i += fusedLength(f);
        continue;
      }
      const info = values.get(p.node.name)!;
      slots.set(p.node.name, { ptr: this.runNode(p, ins, info, n), info });
    }
    return slots;
  }

  private runFused(f: Fusion, x: Slot, info: ValueInfo, n: number): number {
    const k = this.k;
    if (f.kind === 'binaryConvPool') return this.binaryConv(f.first, x, info, n, f.second);
    if (f.kind === 'denseSigns') {
      const dense = f.first;
      const units = (dense.node as Extract<GraphNode, { op: 'dense' }>).units;
      const dst = k.alloc(valueBytes(info, n));
      k.job(
        JOB.denseSigns,
        [x.ptr, dst, dense.k, units, dense.packed, f.sign, f.thr, f.special, f.range, f.wsum, f.wg],
        [],
        n,
        n * dense.k * units,
        k.x.denseSignsScratchBytes(dense.k, units),
      );
      return dst;
    }
    const dst = k.alloc(valueBytes(info, n));
    if (f.kind === 'thresholdSigns') {
      const c = x.info.shape[x.info.shape.length - 1];
      const rows = n * sizeOf(x.info.shape.slice(0, -1));
      k.job(
        JOB.thresholdSigns,
        [x.ptr, dst, c, f.sign, f.thr, f.special, f.range, wordsFor(c), f.plain ? 1 : 0],
        [],
        rows,
        rows * c,
      );
      return dst;
    }
    const { first: conv, second: pool } = f;
    const g = conv.g!;
    const pg = pool.g!;
    const node = conv.node as Extract<GraphNode, { op: 'conv2d' }>;
    const pn = pool.node as Extract<GraphNode, { op: 'maxpool2d' }>;
    const q = this.model.graph.inputs[0].uint8;
    if (conv.u8conv && x.u8 && q) {
      const t = conv.transform;
      const [pkh, pkw] = pn.kernelSize;
      // Slots 17, 21 and 22 (scale, ylo, yhi) are floats.
      k.job(
        JOB.convPoolU8,
        [
          x.u8,
          dst,
          g.h,
          g.w,
          g.c,
          ...windowArgs(node),
          g.oh,
          g.ow,
          conv.u8conv.weights,
          conv.u8conv.ldb16,
          node.filters,
          q.scale,
          conv.u8conv.cbias,
          t.mult,
          t.bias,
          t.ylo,
          t.yhi,
          pkh,
          pkw,
          pn.strides[0],
          pn.strides[1],
          pg.padTop,
          pg.padLeft,
          pg.oh,
          pg.ow,
          conv.monotone ? 1 : 0,
        ],
        [17, 21, 22],
        n,
        n * g.oh * g.ow * conv.k * conv.u8conv.ldb16,
        k.x.convPoolU8ScratchBytes(
          g.h,
          g.w,
          g.c,
          node.kernelSize[0],
          node.kernelSize[1],
          node.dilations[0],
          node.dilations[1],
          conv.u8conv.ldb16,
          node.filters,
          pkh,
          pkw,
          pg.ow,
        ),
      );
      return dst;
    }
    const scratchBytes = k.x.convPoolScratchBytes(
      g.h,
      g.w,
      g.c,
      ...windowArgs(node),
      g.padTop,
      g.padLeft,
      g.oh,
      g.ow,
      conv.ldb,
      node.filters,
      pn.kernelSize[0],
      pn.kernelSize[1],
      pg.ow,
    );
    const t = conv.transform;
    // Slots 16, 22 and 23 (padValue, ylo, yhi) are floats.
    k.job(
      JOB.convPool,
      [
        x.ptr,
        dst,
        g.h,
        g.w,
        g.c,
        ...windowArgs(node),
        g.padTop,
        g.padLeft,
        g.oh,
        g.ow,
        node.padValue,
        conv.weights,
        conv.ldb,
        node.filters,
        t.mult,
        t.bias,
        t.ylo,
        t.yhi,
        ...poolArgs(pn, pg),
        conv.monotone ? 1 : 0,
      ],
      [16, 22, 23],
      n,
      n * g.oh * g.ow * conv.k * conv.ldb,
      scratchBytes,
    );
    return dst;
  }

  private runNode(p: PreparedNode, ins: Slot[], info: ValueInfo, n: number): number {
    const k = this.k;
    const x = ins[0];
    switch (p.op) {
      case 'bconv2d': {
        return this.binaryConv(p, x, info, n, null);
      }
      case 'bdense': {
        let a = x.ptr;
        if (p.inWords !== p.rowWords) {
          a = k.alloc(n * p.rowWords * 4);
          k.x.padRows(x.ptr, a, n, p.inWords, p.rowWords);
        }
        return this.binaryLayer(a, 0, p.weights, n, 1, p.node.units, p.rowWords, p.k, p.transform, 0, info);
      }
      case 'conv2d':
      case 'dense': {
        const units = p.node.op === 'conv2d' ? p.node.filters : p.node.units;
        let a = x.ptr;
        let m = n;
        if (p.node.op === 'conv2d' && p.g) {
          const g = p.g;
          const node = p.node;
          m = n * g.oh * g.ow;
          const direct =
            node.kernelSize[0] === 1 &&
            node.kernelSize[1] === 1 &&
            node.strides[0] === 1 &&
            node.strides[1] === 1;
          if (!direct) {
            a = k.alloc(m * p.k * 4);
            k.x.im2colF32(
              x.ptr,
              a,
              n,
              g.h,
              g.w,
              g.c,
              ...windowArgs(node),
              g.padTop,
              g.padLeft,
              g.oh,
              g.ow,
              node.padValue,
            );
          }
        }
        const c = k.alloc(m * p.ldb * 4);
        // 8-bit input and +-1 weights: exact integer products (see denseU8 in sgemm.ts).
        if (p.u8 && x.u8) this.denseU8(p, x.u8, c, m);
        else k.sgemm(a, p.weights, c, m, p.k, p.ldb);
        const dst = k.alloc(valueBytes(info, n));
        const t = p.transform;
        k.x.affineRows(c, dst, m, units, p.ldb, t.mult, t.bias, t.ylo, t.yhi);
        return dst;
      }
      default:
        return this.runOther(p, ins, info, n);
    }
  }

  /** c [m, ldb] = the dense product of the graph's 8-bit input rows at u8 with p's +-1 weights (denseU8). */
  private denseU8(p: PreparedFloatMatmul, u8: number, c: number, m: number): void {
    const q = this.model.graph.inputs[0].uint8!;
    const units = (p.node as Extract<GraphNode, { op: 'dense' }>).units;
    this.k.job(
      JOB.denseU8,
      [u8, c, p.k, units, p.ldb, p.u8!.idx, p.u8!.colsum, ...f64Slots(q.scale), ...f64Slots(q.offset)],
      [],
      m,
      m * p.k * 8,
      Math.ceil(p.k / 4) * 32 + 128,
    );
  }

  /**
   * A binary conv2d on `x`, and the max pool `pool` over its bits when fused (then `info` is the pool's
   * output): only the conv pixels the pool reads are computed when there is no zero-padding correction.
   */
  private binaryConv(
    p: PreparedBConv,
    x: Slot,
    info: ValueInfo,
    n: number,
    pool: PreparedOther | null,
  ): number {
    const k = this.k;
    const { g, node } = p;
    // The conv output rows and columns the pool's windows reach (the pool's padding is before them),
    // where the GEMM rows are im2col's (a pointwise conv reads the input pixels as they lie) and have
    // no zero-padding correction (its table is by pixel of the whole output).
    const pg = pool?.g;
    const pn = pool?.node as Extract<GraphNode, { op: 'maxpool2d' }> | undefined;
    const crop = pg && pn && p.corr === 0 && !p.pointwise;
    const oh = crop ? Math.min(g.oh, (pg.oh - 1) * pn.strides[0] + pn.kernelSize[0] - pg.padTop) : g.oh;
    const ow = crop ? Math.min(g.ow, (pg.ow - 1) * pn.strides[1] + pn.kernelSize[1] - pg.padLeft) : g.ow;
    let a = x.ptr;
    let im2col = 0;
    if (!p.pointwise)
      im2col = k.args(
        JOB.im2colBits,
        [x.ptr, g.h, g.w, p.cw, ...windowArgs(node), g.padTop, g.padLeft, oh, ow, p.rowWords],
        [],
      );
    else if (p.cw !== p.rowWords) {
      a = k.alloc(n * oh * ow * p.rowWords * 4);
      k.x.padRows(x.ptr, a, n * oh * ow, p.cw, p.rowWords);
    }
    const poolSlots = pg && pn ? [oh, ow, wordsFor(node.filters), ...poolArgs(pn, pg), 1] : null;
    return this.binaryLayer(
      a,
      im2col,
      p.weights,
      n,
      oh * ow,
      node.filters,
      p.rowWords,
      p.k,
      p.transform,
      p.corr,
      info,
      poolSlots,
    );
  }

  /**
   * A binary layer's GEMM (rows from im2col's job slots, or at a) and output transform, with a max pool
   * over its bits when `pool` holds the max-pool job's slots after src and dst (see binaryLayer in
   * assembly/jobs.ts): one job over the `items` (images, or dense rows; info: the output of each) of
   * `pixels` GEMM rows, a few at a time in scratch.
   */
  private binaryLayer(
    a: number,
    im2col: number,
    weights: number,
    items: number,
    pixels: number,
    units: number,
    rowWords: number,
    kk: number,
    t: PlacedTransform,
    corr: number,
    info: ValueInfo,
    pool: number[] | null = null,
  ): number {
    const k = this.k;
    const dst = k.alloc(valueBytes(info, items));
    // With a calibrated strategy: rows of at most 64 bytes run the scalar short-row kernels (prepareNode
    // padded them to 8 bytes), rows of 65 to 128 bytes the faster strategy on 128-byte rows.
    const strategy =
      this.calibrated && rowWords <= 16
        ? 'scalar'
        : this.calibrated && rowWords <= 32
          ? this.midStrategy
          : this.strategy;
    const out =
      t.kind === 'float'
        ? k.args(
            JOB.outFloat,
            [dst, units, kk, t.mult, t.bias, t.dlo, t.dhi, t.ylo, t.yhi, corr, pixels],
            [8, 9],
          )
        : corr === 0
          ? k.args(JOB.outBitsAcc, [dst, units, t.accFlip, t.accThr], [])
          : k.args(JOB.outBits, [dst, units, kk, t.sign, t.thr, corr, pixels], []);
    const poolBlock = pool ? k.args(JOB.maxPool, [0, dst, ...pool], []) : 0;
    // Items per step: about CHUNK_ROWS GEMM rows, whose sums stay in L1 or L2.
    const chunk = Math.max(1, Math.floor(CHUNK_ROWS / pixels));
    const rows = chunk * pixels;
    const m = items * pixels;
    k.job(
      JOB.binaryLayer,
      [im2col, a, weights, units, rowWords, strategy === 'simd' ? 1 : 0, out, pixels, chunk, poolBlock],
      [],
      items,
      // About the elements a job touches per bgemm's own threshold for splitting (PARALLEL_MIN_WORK).
      (m * units * rowWords) / 4,
      rows * ((im2col ? rowWords * 4 : 0) + units * 4 + (pool ? wordsFor(units) * 4 : 0)) + 16,
    );
    return dst;
  }

  private runOther(p: PreparedOther, ins: Slot[], info: ValueInfo, n: number): number {
    const k = this.k;
    const { node, g } = p;
    const x = ins[0];
    if (node.op === 'flatten') return x.ptr;
    const len = n * sizeOf(info.shape);
    const dst = k.alloc(valueBytes(info, n));
    const c = x.info.shape[x.info.shape.length - 1];
    switch (node.op) {
      case 'binarize':
        k.x.packSigns(x.ptr, dst, n * sizeOf(x.info.shape.slice(0, -1)), c, wordsFor(c));
        return dst;
      case 'maxpool2d':
      case 'avgpool2d': {
        const geo = g!;
        const args = [
          n,
          geo.h,
          geo.w,
          x.info.kind === 'bits' ? wordsFor(geo.c) : geo.c,
          ...poolArgs(node, geo),
        ];
        if (node.op === 'avgpool2d') k.x.avgPoolF32(x.ptr, dst, ...args);
        else
          k.job(
            JOB.maxPool,
            [x.ptr, dst, ...args.slice(1), x.info.kind === 'bits' ? 1 : 0],
            [],
            n,
            n * geo.h * geo.w * args[3],
          );
        return dst;
      }
      case 'globalavgpool':
        k.x.globalAvgPoolF32(x.ptr, dst, n, x.info.shape[0] * x.info.shape[1], c);
        return dst;
      case 'add':
        k.x.addF32(x.ptr, ins[1].ptr, dst, len);
        for (const more of ins.slice(2)) k.x.addF32(dst, more.ptr, dst, len);
        return dst;
      case 'concat': {
        // A strided copy per input: memory-bound, done on views of wasm memory.
        const total = info.shape[info.shape.length - 1];
        const rows = len / total;
        k.defer(() => {
          const out = k.f32(dst, len);
          let offset = 0;
          for (const s of ins) {
            const cs = s.info.shape[s.info.shape.length - 1];
            const src = k.f32(s.ptr, rows * cs);
            for (let r = 0; r < rows; r++) out.set(src.subarray(r * cs, (r + 1) * cs), r * total + offset);
            offset += cs;
          }
        });
        return dst;
      }
      case 'affine': {
        const a = p.affine!;
        if (a.divisor) k.x.batchNormF32(x.ptr, dst, len / c, c, a.mult, a.bias, a.mean, a.divisor);
        else k.x.affineF32(x.ptr, dst, len / c, c, a.mult, a.bias);
        return dst;
      }
      case 'relu':
        k.x.reluF32(x.ptr, dst, len);
        return dst;
      default: {
        // softmax: exp() over a few logits per sample; the reference code on a copy.
        k.defer(() => {
          const t: FloatTensor = {
            kind: 'float',
            shape: [n, ...x.info.shape],
            data: k.f32(x.ptr, len).slice(),
          };
          const result = runNode(node, [t], this.model.graph.constants) as FloatTensor;
          k.f32(dst, len).set(result.data);
        });
        return dst;
      }
    }
  }
}

/**
 * Consecutive nodes run as one kernel (bit for bit the same output): a float conv2d whose only consumer
 * is a max pool with non-overlapping windows (assembly/fused.ts); a chain of affine / relu nodes ending
 * in a binarize, on any float value (thresholdSigns) or after a dense with +-1 weights (denseSigns).
 */
type Fusion =
  | { kind: 'convPool'; first: PreparedFloatMatmul; second: PreparedOther }
  | { kind: 'binaryConvPool'; first: PreparedBConv; second: PreparedOther }
  | ({ kind: 'thresholdSigns'; first: PreparedOther } & SignChain)
  | ({
      kind: 'denseSigns';
      first: PreparedFloatMatmul;
      /** The sum of each unit's +-1 weights, f32 [units] (see assembly/dense-signs.ts: background shift). */
      wsum: number;
      /** The weight bytes by group of 8 inputs, u8 [ceil(K / 8), units] (byte g of each packed row). */
      wg: number;
    } & SignChain);

/** The affine / relu nodes and the binarize after a layer, with each unit's threshold rule in wasm memory. */
interface SignChain {
  chain: PreparedOther[];
  second: PreparedOther;
  /** See floatThreshold: sign and threshold f32 [units], special u8 [units], range f32 [2, units] (lo, hi). */
  sign: number;
  thr: number;
  special: number;
  range: number;
  /** Every unit's rule is bit = sign * value < thr on every float (see isPlainThreshold). */
  plain: boolean;
}

/** Nodes a fusion covers after its first one. */
const fusedLength = (f: Fusion) =>
  f.kind === 'denseSigns' ? f.chain.length + 1 : f.kind === 'thresholdSigns' ? f.chain.length : 1;

function planFusions(
  k: Kernels,
  prepared: PreparedNode[],
  graph: Graph,
  values: Map<string, ValueInfo>,
): Map<number, Fusion> {
  const uses = new Map<string, number>();
  for (const node of graph.nodes) for (const i of node.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of graph.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  const out = new Map<number, Fusion>();
  for (let i = 0; i + 1 < prepared.length; i++) {
    const a = prepared[i];
    const b = prepared[i + 1];
    if (uses.get(a.node.name) !== 1 || b.node.inputs[0] !== a.node.name || b.op !== 'other') continue;
    const bn = b.node;
    const signs = a.op === 'dense' && a.packed !== 0 ? denseSignsFusion(k, prepared, i, graph, uses) : null;
    if (signs) {
      out.set(i, signs);
      i += fusedLength(signs);
    } else if (
      a.op === 'conv2d' &&
      a.g &&
      bn.op === 'maxpool2d' &&
      bn.strides[0] >= bn.kernelSize[0] &&
      bn.strides[1] >= bn.kernelSize[1]
    ) {
      out.set(i, { kind: 'convPool', first: a, second: b });
      i++;
    } else if (a.op === 'bconv2d' && a.transform.kind !== 'float' && bn.op === 'maxpool2d') {
      out.set(i, { kind: 'binaryConvPool', first: a, second: b });
      i++;
    } else if (a.op === 'other' && (a.node.op === 'affine' || a.node.op === 'relu')) {
      const c = values.get(a.node.inputs[0])!.shape.at(-1)!;
      const chain = signChain(k, prepared, i + 1, a.node.name, graph, uses, { kind: 'float' }, c, [a]);
      if (chain) {
        out.set(i, { kind: 'thresholdSigns', first: a, ...chain });
        i += fusedLength(out.get(i)!);
      }
    }
  }
  return out;
}

/**
 * The affine / relu nodes from prepared[j] on up to a binarize, each reading the one before (`prev` is
 * the value before prepared[j]) as its single consumer, after the nodes already in `chain`, with each
 * unit's chain (`transform`, the layer's output transform or the identity, then the affines, relus and
 * sign) reduced to a float threshold (floatThreshold) and placed in wasm memory. Null when there is no
 * such chain or a unit's chain has no threshold form.
 */
function signChain(
  k: Kernels,
  prepared: PreparedNode[],
  j: number,
  prev: string,
  graph: Graph,
  uses: Map<string, number>,
  transform: FloatTransform,
  units: number,
  chain: PreparedOther[] = [],
): SignChain | null {
  for (; ; j++) {
    const p = prepared[j];
    if (p?.op !== 'other' || p.node.inputs[0] !== prev || uses.get(prev) !== 1) return null;
    if (p.node.op === 'binarize') break;
    if (p.node.op !== 'affine' && p.node.op !== 'relu') return null;
    chain.push(p);
    prev = p.node.name;
  }
  const f32 = (name: string | undefined) => (name ? (graph.constants[name].data as Float32Array) : undefined);
  const resolved = { ...transform, multiplier: f32(transform.multiplier), bias: f32(transform.bias) };
  const nodes = chain.map((p) => p.node);
  const sign = new Float32Array(units);
  const thr = new Float32Array(units);
  const special = new Uint8Array(units);
  const range = new Float32Array(2 * units);
  let plain = true;
  for (let c = 0; c < units; c++) {
    const m = resolved.multiplier?.[c] ?? 1;
    const b = resolved.bias?.[c] ?? 0;
    const th = floatThreshold((acc) => chainValue(graph, nodes, c, floatTransform(acc, m, b, resolved)));
    if (!th) return null;
    plain &&= isPlainThreshold(th);
    sign[c] = th.sign;
    thr[c] = th.threshold;
    special[c] = th.special;
    range[c] = th.lo;
    range[units + c] = th.hi;
  }
  return {
    chain,
    second: prepared[j] as PreparedOther,
    plain,
    sign: k.put(sign),
    thr: k.put(thr),
    special: k.put(special),
    range: k.put(range),
  };
}

/** A dense with packed +-1 weights at prepared[i] whose output reaches a binarize through affine / relu nodes: denseSigns. */
function denseSignsFusion(
  k: Kernels,
  prepared: PreparedNode[],
  i: number,
  graph: Graph,
  uses: Map<string, number>,
): Fusion | null {
  const dense = prepared[i] as PreparedFloatMatmul;
  const node = dense.node as Extract<GraphNode, { op: 'dense' }>;
  const chain = signChain(k, prepared, i + 1, node.name, graph, uses, node.transform, node.units);
  if (!chain) return null;
  const packed = k.u32(dense.packed, node.units * wordsFor(dense.k));
  const sums = weightSums(packed, dense.k, node.units);
  const groups = Math.ceil(dense.k / 8);
  const bytes = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
  const rowBytes = wordsFor(dense.k) * 4;
  const wg = new Uint8Array(groups * node.units);
  for (let g = 0; g < groups; g++)
    for (let u = 0; u < node.units; u++) wg[g * node.units + u] = bytes[u * rowBytes + g];
  return {
    kind: 'denseSigns',
    first: dense,
    wsum: k.put(Float32Array.from(sums)),
    wg: k.put(wg),
    ...chain,
  };
}

/**
 * With an 8-bit graph input: gives every dense layer with packed +-1 weights that reads the input
 * (directly or through flattens) denseU8's tables. Returns whether any other node reads the float input.
 */
function prepareU8(
  k: Kernels,
  prepared: PreparedNode[],
  graph: Graph,
  fusions: Map<number, Fusion>,
): boolean {
  const q = graph.inputs[0].uint8;
  if (!q) return true;
  const reads = new Set([graph.inputs[0].name]);
  let other = graph.outputs.includes(graph.inputs[0].name);
  // A 'valid' conv with +-1 weights fused with its max pool, on the input itself, runs convPoolU8
  // (i16 sums: at most 128 taps of 255).
  const pooledConvs = new Set(
    [...fusions.values()].filter((f) => f.kind === 'convPool').map((f) => f.first as PreparedNode),
  );
  // A dense layer whose signs denseSigns writes reads the dequantized floats: its integer tables find
  // the 8-bit levels there, faster than denseU8's exact sums.
  const signDense = new Set(
    [...fusions.values()].filter((f) => f.kind === 'denseSigns').map((f) => f.first as PreparedNode),
  );
  for (const p of prepared) {
    const readsInput = p.node.inputs.some((i) => reads.has(i));
    if (!readsInput) continue;
    if (p.node.op === 'flatten') {
      reads.add(p.node.name);
      if (graph.outputs.includes(p.node.name)) other = true;
    } else if (p.op === 'dense' && p.packed !== 0 && !signDense.has(p)) {
      const units = (p.node as Extract<GraphNode, { op: 'dense' }>).units;
      const w = graph.constants[(p.node as Extract<GraphNode, { op: 'dense' }>).weights].data as Uint32Array;
      p.u8 = u8DenseTables(k, w, p.k, units);
    } else if (
      p.op === 'conv2d' &&
      p.g &&
      pooledConvs.has(p) &&
      p.node.inputs[0] === graph.inputs[0].name &&
      graph.constants[(p.node as Extract<GraphNode, { op: 'conv2d' }>).weights].dtype === 'uint32' &&
      p.k <= 128 &&
      insideOnly(p)
    )
      p.u8conv = u8ConvTables(k, p, (p.node as Extract<GraphNode, { op: 'conv2d' }>).filters, q.offset);
    else other = true;
  }
  return other;
}

/** Whether every tap of every output pixel of a conv lies inside the input (no padding is read). */
function insideOnly(p: PreparedFloatMatmul): boolean {
  const g = p.g!;
  const node = p.node as Extract<GraphNode, { op: 'conv2d' }>;
  return (
    g.padTop === 0 &&
    g.padLeft === 0 &&
    (g.oh - 1) * node.strides[0] + (node.kernelSize[0] - 1) * node.dilations[0] < g.h &&
    (g.ow - 1) * node.strides[1] + (node.kernelSize[1] - 1) * node.dilations[1] < g.w
  );
}

function describeNet(
  model: DecodedModel,
  fileBytes: number,
  popcount: PopcountStrategy,
  cal: Calibration | null,
  memoryBytes: number,
): NetInfo {
  const { graph, checked } = model;
  const nodes: NodeInfo[] = graph.nodes.map((node) => {
    const info = checked.values.get(node.name)!;
    const x = checked.values.get(node.inputs[0])!;
    let macs = 0;
    if (node.op === 'bconv2d' || node.op === 'conv2d')
      macs = sizeOf(info.shape) * node.kernelSize[0] * node.kernelSize[1] * x.shape[2];
    if (node.op === 'bdense' || node.op === 'dense') macs = node.units * sizeOf(x.shape);
    const binary = node.op === 'bconv2d' || node.op === 'bdense';
    return {
      name: node.name,
      op: node.op,
      kind: info.kind,
      shape: info.shape,
      binaryMacs: binary ? macs : 0,
      floatMacs: binary ? 0 : macs,
    };
  });
  const opCounts: NetInfo['opCounts'] = {};
  for (const n of graph.nodes) opCounts[n.op] = (opCounts[n.op] ?? 0) + 1;
  let binaryWeights = 0;
  let floatParams = 0;
  let constantBytes = 0;
  for (const node of graph.nodes) {
    if ('weights' in node) {
      const c = graph.constants[node.weights];
      const x = checked.values.get(node.inputs[0])!;
      const units = c.shape[0];
      if (c.dtype === 'uint32') {
        const perUnit =
          node.op === 'bconv2d' || node.op === 'conv2d'
            ? node.kernelSize[0] * node.kernelSize[1] * x.shape[2]
            : sizeOf(x.shape);
        binaryWeights += units * perUnit;
      }
    }
  }
  for (const c of Object.values(graph.constants)) {
    constantBytes += c.data.byteLength;
    if (c.dtype === 'float32') floatParams += c.data.length;
  }
  return {
    inputShape: graph.inputs[0].shape,
    outputShape: checked.values.get(graph.outputs[0])!.shape,
    nodes,
    opCounts,
    fileBytes,
    constantBytes,
    binaryWeights,
    floatParams,
    binaryMacs: nodes.reduce((s, n) => s + n.binaryMacs, 0),
    floatMacs: nodes.reduce((s, n) => s + n.floatMacs, 0),
    popcount,
    calibration: cal,
    threads: 1,
    threadFallback: null,
    memoryBytes,
    fused: [],
    uint8Nodes: [],
    batchSplit: false,
    metadata: { ...(graph.metadata ?? {}) },
  };
}

/**
 * Loads a `.lbm` model (see {@link encodeModel}) and prepares it for inference: validates the file,
 * instantiates the WebAssembly kernels, calibrates the popcount strategy and lays out the weights.
 *
 * ```ts
 * const net = await load(bytes);
 * const { data, shape } = net.predict(images, [batch, 28, 28, 1]);
 * ```
 */
export async function load(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Promise<Net> {
  const where = 'engine.load options';
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1))
    throw new ConfigError({
      where: `${where}.threads`,
      received: options.threads,
      expected: 'an integer >= 1',
    });
  const popcount = options.popcount ?? 'auto';
  if (!['auto', 'scalar', 'simd'].includes(popcount))
    throw new ConfigError({
      where: `${where}.popcount`,
      received: popcount,
      expected: ['auto', 'scalar', 'simd'],
    });
  const maxChunkBytes = options.maxChunkBytes ?? 32 * 1024 ** 2;
  if (!(maxChunkBytes > 0))
    throw new ConfigError({
      where: `${where}.maxChunkBytes`,
      received: maxChunkBytes,
      expected: 'a positive number',
    });
  const u8 = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(u8 instanceof Uint8Array))
    throw new ConfigError({
      where: 'engine.load bytes',
      received: describe(bytes),
      expected: 'a Uint8Array or ArrayBuffer',
    });
  const model = decodeModel(u8, options.source ?? 'model.lbm');
  return fromDecoded(model, u8.length, popcount, maxChunkBytes, options.threads ?? 1);
}

/** Builds a Net from an in-memory graph (validated by encoding it); for tests and the converter. */
export async function loadGraph(graph: Graph, options: LoadOptions = {}): Promise<Net> {
  return load(encodeModel(graph), options);
}

async function fromDecoded(
  model: DecodedModel,
  fileBytes: number,
  popcount: 'auto' | PopcountStrategy,
  maxChunkBytes: number,
  threads: number,
): Promise<Net> {
  if (model.graph.inputs.length !== 1)
    throw new UnsupportedError(`a graph with ${model.graph.inputs.length} inputs`, 'one input');
  const k = await Kernels.create(threads);
  let cal: Calibration | null = null;
  let strategy: PopcountStrategy;
  if (popcount === 'auto') {
    cal = calibrate(k);
    strategy = cal.strategy;
    k.reset();
  } else strategy = popcount;
  return new Net(k, model, strategy, fileBytes, cal, maxChunkBytes);
}

/** A convolution's window as kernel arguments: kernel height, width, strides and dilations (h, w). */
/** A pool's window and output geometry as the kernels take it: kh kw sh sw padTop padLeft oh ow. */
function poolArgs(
  node: { kernelSize: readonly number[]; strides: readonly number[] },
  g: Geometry,
): number[] {
  return [
    node.kernelSize[0],
    node.kernelSize[1],
    node.strides[0],
    node.strides[1],
    g.padTop,
    g.padLeft,
    g.oh,
    g.ow,
  ];
}

function windowArgs(node: {
  kernelSize: readonly number[];
  strides: readonly number[];
  dilations: readonly number[];
}): [number, number, number, number, number, number] {
  const [kh, kw] = node.kernelSize;
  const [sh, sw] = node.strides;
  const [dh, dw] = node.dilations;
  return [kh, kw, sh, sw, dh, dw];
}
