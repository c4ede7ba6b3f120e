/**
 * Accuracy benchmark: trains zoo networks on Fashion-MNIST with their recipes and reports test
 * accuracy per seed and its mean/min/max, next to the PyTorch peer of benchmarks.md.
 *
 * Recipes: the Larq recipe (Adam lr 1e-3, epsilon 1e-7, batch 64, 6 epochs, sparse categorical
 * cross-entropy) for larq-intro-cnn, its float twin and binary-mlp; quicknet-tiny's own recipe
 * (QUICKNET_TINY_RECIPE: Adam lr 2e-3 with cosine decay, batch 64, 12 epochs).
 *
 * Run (all of it, hours on 2 cores):
 *   npx tsx bench/accuracy.ts
 * Flags: --models a,b (larq-intro-cnn, larq-intro-cnn-float, binary-mlp, quicknet-tiny)
 *        --seeds 0,1,2   --epochs N (override the recipe)   --limit N (first N training examples)
 *        --tag NAME (results go to bench/results/accuracy-NAME.{json,md}; default: the models)
 *        --backend wasm|cpu (default: the fastest)
 *        --zoo-options JSON (extra options of the zoo builder, e.g. '{"filters":[48,96]}'; runs
 *        with options are summarised apart from the default network)
 *        --data fashion-mnist|mnist (default fashion-mnist; mnist: the embedded 8,000/2,000 split,
 *        reported on its own and left out of --merge)
 *   npx tsx bench/accuracy.ts --merge
 *        merges every bench/results/accuracy-*.json into bench/results/accuracy.{json,md}.
 * Results are rewritten after every epoch, so a run that is still going shows its progress.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend, useFastestBackend } from '../src/backend/index.js';
import { type DataSplit, loadDataset, subset } from '../src/data/index.js';
import { evaluateModel, larqAdam, recalibrateBatchNorm, trainModel } from '../src/train/index.js';
import { QUICKNET_TINY_RECIPE, get as zooGet } from '../src/zoo/index.js';
import {
  commandLine,
  flag,
  hasFlag,
  type MachineInfo,
  machineInfo,
  machineLine,
  RESULTS_DIR,
  writeAtomic,
} from './zoo-bench-util.js';

interface Recipe {
  description: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  cosine: boolean;
}

const LARQ_RECIPE: Recipe = {
  description: 'Larq recipe: Adam lr 1e-3, epsilon 1e-7, batch 64, 6 epochs',
  epochs: 6,
  batchSize: 64,
  learningRate: 1e-3,
  cosine: false,
};
const QUICKNET_RECIPE: Recipe = {
  description: `Adam lr ${QUICKNET_TINY_RECIPE.learningRate} with cosine decay to 0, epsilon 1e-7, batch ${QUICKNET_TINY_RECIPE.batchSize}, ${QUICKNET_TINY_RECIPE.epochs} epochs`,
  epochs: QUICKNET_TINY_RECIPE.epochs,
  batchSize: QUICKNET_TINY_RECIPE.batchSize,
  learningRate: QUICKNET_TINY_RECIPE.learningRate,
  cosine: true,
};

interface BenchModel {
  zoo: string;
  float: boolean;
  recipe: Recipe;
  /** Goal on the mean test accuracy (issue 4), if any. */
  target?: number;
  /** PyTorch peer's mean (benchmarks.md), if any. */
  peer?: number;
}

const MODELS: Record<string, BenchModel> = {
  'larq-intro-cnn': { zoo: 'larq-intro-cnn', float: false, recipe: LARQ_RECIPE, target: 0.834, peer: 0.8389 },
  'larq-intro-cnn-float': { zoo: 'larq-intro-cnn', float: true, recipe: LARQ_RECIPE, peer: 0.8911 },
  'binary-mlp': { zoo: 'binary-mlp', float: false, recipe: LARQ_RECIPE, target: 0.866, peer: 0.8713 },
  'quicknet-tiny': { zoo: 'quicknet-tiny', float: false, recipe: QUICKNET_RECIPE, target: 0.9 },
};

interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  testAccuracy: number;
  testLoss: number;
  learningRate: number;
  trainSeconds: number;
  seconds: number;
}

interface RunRecord {
  model: string;
  /** Options passed to the zoo builder besides float and seed (absent: the zoo's defaults). */
  zooOptions?: Record<string, unknown>;
  seed: number;
  status: 'running' | 'done';
  recipe: string;
  epochs: number;
  batchSize: number;
  trainExamples: number;
  testExamples: number;
  perEpoch: EpochRecord[];
  testAccuracy?: number;
  testLoss?: number;
  /**
   * Test accuracy of the final weights after `recalibrateBatchNorm` on the training split (not the
   * recipe's result: shown beside it; absent in runs of older versions).
   */
  testAccuracyRecalibrated?: number;
  /** Wall-clock seconds of training steps and of the whole run (evaluations included). */
  trainSeconds?: number;
  wallSeconds?: number;
  samplesPerSecond?: number;
}

interface ResultFile {
  command: string;
  /** Dataset name (fashion-mnist when absent). */
  data?: string;
  machine: MachineInfo;
  backend: string;
  runs: RunRecord[];
}

/** The model's name, followed by its zoo options when it has any. */
const modelLabel = (r: RunRecord) => (r.zooOptions ? `${r.model} ${JSON.stringify(r.zooOptions)}` : r.model);

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);

function summarize(runs: RunRecord[]) {
  // One row per model and recipe: runs of an earlier recipe (e.g. fewer epochs) are not averaged in.
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (r.status !== 'done') continue;
    const key = `${modelLabel(r)}\u0000${r.recipe}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const { model, epochs } = rs[0];
    const label = modelLabel(rs[0]);
    const acc = rs.map((r) => r.testAccuracy as number);
    const mean = acc.reduce((a, b) => a + b, 0) / acc.length;
    const spec = MODELS[model];
    return {
      model: label,
      epochs,
      seeds: rs.map((r) => r.seed),
      mean,
      min: Math.min(...acc),
      max: Math.max(...acc),
      target: spec?.target,
      peer: spec?.peer,
      meetsTarget: spec?.target === undefined ? null : mean >= spec.target,
      maxTrainSeconds: Math.max(...rs.map((r) => r.trainSeconds ?? 0)),
      maxWallSeconds: Math.max(...rs.map((r) => r.wallSeconds ?? 0)),
    };
  });
}

function markdown(
  file:
    | ResultFile
    | { command: string; data?: string; machine: MachineInfo; backend: string; runs: RunRecord[] },
): string {
  const lines = [
    `# Accuracy on ${file.data === 'mnist' ? 'MNIST (embedded 8,000 / 2,000 split)' : 'Fashion-MNIST'}`,
    '',
    machineLine(file.machine, file.backend),
    `Command: \`${file.command}\`.`,
    '',
    '## Summary (finished runs)',
    '',
    '| model | epochs | seeds | mean | min | max | goal | PyTorch peer mean | longest run (train s / wall s) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  // Goals and peer figures are Fashion-MNIST's: not shown for other data.
  const fashion = (file.data ?? 'fashion-mnist') === 'fashion-mnist';
  for (const s of summarize(file.runs).map((r) =>
    fashion ? r : { ...r, target: undefined, peer: undefined },
  )) {
    lines.push(
      `| ${s.model} | ${s.epochs} | ${s.seeds.join(', ')} | ${pct(s.mean)} | ${pct(s.min)} | ${pct(s.max)} | ${
        s.target === undefined ? '-' : `>= ${pct(s.target)} ${s.meetsTarget ? '(met)' : '(not met)'}`
      } | ${pct(s.peer)} | ${s.maxTrainSeconds.toFixed(0)} / ${s.maxWallSeconds.toFixed(0)} |`,
    );
  }
  lines.push(
    '',
    '## Runs',
    '',
    '| model | seed | status | recipe | train examples | epochs done | test accuracy (per epoch) | samples/s | final weights, BatchNorm re-estimated |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of file.runs) {
    lines.push(
      `| ${modelLabel(r)} | ${r.seed} | ${r.status} | ${r.recipe} | ${r.trainExamples} | ${r.perEpoch.length}/${r.epochs} | ${r.perEpoch
        .map((e) => pct(e.testAccuracy))
        .join(', ')} | ${r.samplesPerSecond?.toFixed(0) ?? '-'} | ${pct(r.testAccuracyRecalibrated)} |`,
    );
  }
  lines.push(
    '',
    'Test accuracy is measured on the whole test split after each epoch (not used for any choice); the',
    "run's result is the last epoch's. Times are wall-clock on a machine shared with other jobs. The last",
    "column is not the recipe's result: the final weights with BatchNorm's moving statistics replaced by",
    'the population statistics of the training split (`lq.train.recalibrateBatchNorm`).',
    '',
  );
  return lines.join('\n');
}

async function merge(): Promise<void> {
  const files = readdirSync(RESULTS_DIR).filter((f) => /^accuracy-.+\.json$/.test(f));
  const all: ResultFile[] = files
    .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as ResultFile)
    .filter((f) => (f.data ?? 'fashion-mnist') === 'fashion-mnist');
  if (all.length === 0) throw new Error(`no bench/results/accuracy-*.json in ${RESULTS_DIR}`);
  const runs = all.flatMap((f) => f.runs);
  const merged = {
    command: `${all.map((f) => f.command).join(' ; ')} ; npx tsx bench/accuracy.ts --merge`,
    machine: all[0].machine,
    backend: [...new Set(all.map((f) => f.backend))].join(', '),
    sources: files,
    summary: summarize(runs),
    runs,
  };
  writeAtomic(join(RESULTS_DIR, 'accuracy.json'), `${JSON.stringify(merged, null, 2)}\n`);
  writeAtomic(join(RESULTS_DIR, 'accuracy.md'), markdown(merged));
  console.log(markdown(merged));
}

/** --zoo-options: a JSON object, or a clear error saying what was received. */
function parseZooOptions(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `--zoo-options: ${(e as Error).message} in ${JSON.stringify(text)}; expected a JSON object such as '{"filters":[48,96]}'`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`--zoo-options: received ${text}; expected a JSON object such as '{"filters":[48,96]}'`);
  return value as Record<string, unknown>;
}

async function main(): Promise<void> {
  if (hasFlag('merge')) return merge();
  const models = (flag('models') ?? 'larq-intro-cnn,larq-intro-cnn-float,binary-mlp,quicknet-tiny').split(
    ',',
  );
  for (const m of models)
    if (!MODELS[m]) throw new Error(`unknown model '${m}'; valid: ${Object.keys(MODELS).join(', ')}`);
  const seeds = (flag('seeds') ?? '0,1,2').split(',').map(Number);
  const epochsFlag = flag('epochs');
  const limit = flag('limit') ? Number(flag('limit')) : undefined;
  const tag = flag('tag') ?? models.join('+');
  const zooOptions = parseZooOptions(flag('zoo-options'));
  const backendName = flag('backend');
  if (backendName) await setBackend(backendName);
  else await useFastestBackend();

  // Options the zoo refuses are reported now, before any data is loaded or result written.
  for (const name of models) zooGet(MODELS[name].zoo, { ...zooOptions, float: MODELS[name].float }).dispose();

  const dataName = flag('data') ?? 'fashion-mnist';
  const data = await loadDataset(dataName);
  const train: DataSplit = limit
    ? subset(
        data.train,
        Array.from({ length: Math.min(limit, data.train.count) }, (_, i) => i),
      )
    : data.train;
  const file: ResultFile = {
    command: commandLine(),
    data: dataName,
    machine: machineInfo(),
    backend: tf.getBackend(),
    runs: [],
  };
  const jsonPath = join(RESULTS_DIR, `accuracy-${tag}.json`);
  const mdPath = join(RESULTS_DIR, `accuracy-${tag}.md`);
  if (existsSync(jsonPath) && !hasFlag('overwrite')) {
    // Keep finished runs of an earlier invocation with the same tag; redo unfinished ones.
    const old = JSON.parse(readFileSync(jsonPath, 'utf8')) as ResultFile;
    file.runs = old.runs.filter((r) => r.status === 'done');
  }
  const save = () => {
    writeAtomic(jsonPath, `${JSON.stringify(file, null, 2)}\n`);
    writeAtomic(mdPath, markdown(file));
  };

  for (const seed of seeds) {
    for (const name of models) {
      const spec = MODELS[name];
      const epochs = epochsFlag ? Number(epochsFlag) : spec.recipe.epochs;
      if (
        file.runs.some(
          (r) =>
            r.model === name &&
            r.seed === seed &&
            r.epochs === epochs &&
            r.trainExamples === train.count &&
            JSON.stringify(r.zooOptions) === JSON.stringify(zooOptions),
        )
      )
        continue;
      const run: RunRecord = {
        model: name,
        ...(zooOptions ? { zooOptions } : {}),
        seed,
        status: 'running',
        recipe: spec.recipe.description + (epochsFlag ? ` (epochs overridden: ${epochs})` : ''),
        epochs,
        batchSize: spec.recipe.batchSize,
        trainExamples: train.count,
        testExamples: data.test.count,
        perEpoch: [],
      };
      file.runs.push(run);
      save();
      const model = zooGet(spec.zoo, { ...zooOptions, float: spec.float, seed });
      const lr0 = spec.recipe.learningRate;
      const started = performance.now();
      const result = await trainModel({
        model,
        data: train,
        epochs,
        batchSize: spec.recipe.batchSize,
        optimizer: larqAdam(lr0),
        seed,
        learningRate: (e) => (spec.recipe.cosine ? (lr0 * (1 + Math.cos((Math.PI * e) / epochs))) / 2 : lr0),
        yieldEvery: 'never',
        callbacks: {
          onEpochEnd: async (epoch, logs) => {
            const test = evaluateModel(model, data.test);
            const l = { loss: Number(logs?.loss), acc: Number(logs?.acc) };
            run.perEpoch.push({
              epoch,
              loss: l.loss,
              accuracy: l.acc,
              testAccuracy: test.accuracy,
              testLoss: test.loss,
              learningRate: spec.recipe.cosine ? (lr0 * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2 : lr0,
              trainSeconds: 0,
              seconds: (performance.now() - started) / 1000,
            });
            console.log(
              `${name} seed ${seed} epoch ${epoch + 1}/${epochs}: loss ${l.loss.toFixed(4)} acc ${pct(l.acc)} test ${pct(test.accuracy)} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
            );
            save();
          },
        },
      });
      result.epochs.forEach((e, i) => {
        if (run.perEpoch[i]) run.perEpoch[i].trainSeconds = e.trainSeconds;
      });
      const final = run.perEpoch[run.perEpoch.length - 1];
      run.testAccuracy = final.testAccuracy;
      run.testLoss = final.testLoss;
      run.trainSeconds = result.trainSeconds;
      run.wallSeconds = (performance.now() - started) / 1000;
      run.samplesPerSecond = result.samplesPerSecond;
      recalibrateBatchNorm(model, train);
      run.testAccuracyRecalibrated = evaluateModel(model, data.test).accuracy;
      run.status = 'done';
      save();
      model.dispose();
    }
  }
  save();
  console.log(markdown(file));
}

// A bad flag or option: its message and exit code 1 (an uncaught error would be rethrown through
// tfjs-backend-wasm's own handler, which prints its minified source).
await main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.exit(1);
});
