/**
 * The two clone presets, as plain data (validate with `parseClonePreset`; JSON copies for the CLI live in
 * `apps/bench/presets`). Every value is explained in README.md ("Presets").
 *
 * - `paper`: the hyperparameters of the workshop paper's Tables 1 and 2 where they are stated (LSTM 32, Adam 5e-3,
 *   batch 32,768, 10^6 iterations, random data std 2, Smooth L1, ×20, update target norm 1e-3, CMA-ES: 200
 *   generations, population 64, σ0 0.1, 10^4 inner steps, App. D: inner batch 64, clip [−4, 4]); choices where the
 *   paper is silent are ours and marked in the README (among them the weight-update circuit with a separate
 *   reverse-tick LSTM, `init.updateCircuit`: without it the update is cloned for one sign of x only). Out of reach on
 *   a CPU.
 * - `quick`: the default; the same method sized for a 2-core machine (minutes to an hour per stage).
 */
import type { ClonePresetInput, NetworkStageInput } from './config.js';

/**
 * η of the paper preset: Table 1's "gradient update target norm 1e-3" read as the RMS of the stored-unit update
 * targets Δw/scale = −η·e·tanh(x)/20 on the random cloning data (x ~ N(0, 2²), e ~ N(0, 1)):
 * RMS(e·tanh x) = sqrt(E[tanh²(2z)]) = 0.7969, so η = 20·1e-3 / 0.7969 = 0.0251.
 */
export const PAPER_ETA = 0.0251;


/** What the paper preset's three MNIST network stages share (App. B: 10⁴ iterations each, inner batch 64). */
const PAPER_NETWORK_STAGE: Omit<NetworkStageInput, 'name'> = {
  kind: 'network',
  iterations: 10_000,
  hidden: [32],
  data: { dataset: 'mnist' },
  innerBatch: 64,
  window: 2,
  episodeLength: 2000,
  optimizer: { lr: 5e-4 },
  logEvery: 100,
  checkpointEvery: 1000,
};

/** The paper preset (Tables 1–2 where stated). */
export const PAPER_PRESET = {
  name: 'paper',
  seed: 0,
  model: { slowSize: 32, msgSize: 8, microTicks: 2, stateClip: [-4, 4], innerBatchMerge: 1, separateBackwardRnn: true },
  emulation: { component: 'c', wDim: 0, bDim: 1, scale: 20, eta: PAPER_ETA, biasEta: null },
  init: { updateCircuit: {} },
  curriculum: [
    {
      kind: 'subrnn',
      name: 'random',
      iterations: 1_000_000,
      batch: 32_768,
      window: 2,
      resetFraction: 0.1,
      data: { xStd: 2, errStd: [1, 1], errZero: 0.1, wStd: [0.5, 0.5], bStd: [0.1, 0.1] },
      optimizer: { lr: 5e-3 },
      logEvery: 1000,
      checkpointEvery: 10_000,
    },
    { ...PAPER_NETWORK_STAGE, name: 'shallow-mnist', hidden: [] },
    { ...PAPER_NETWORK_STAGE, name: 'deep-gt-errors', teacher: { errors: true } },
    { ...PAPER_NETWORK_STAGE, name: 'deep-own' },
  ],
  metatest: {
    datasets: ['mnist', 'fashion_mnist'],
    hidden: [],
    steps: 10_000,
    innerBatch: 64,
    seeds: [1, 2, 3, 4, 5, 6],
    evalEvery: 500,
    evalCount: 10_000,
  },
  improve: {
    generations: 200,
    popSize: 64,
    sigma0: 0.1,
    params: 'all',
    steps: 10_000,
    innerBatch: 64,
    dataset: 'mnist',
    fitnessWindow: 0.1,
  },
} as const satisfies ClonePresetInput;


/** What the quick preset's three MNIST network stages share (14×14 inputs, SGD-initialised restarts, rehearsal of the random stage). */
const QUICK_NETWORK_STAGE: Omit<NetworkStageInput, 'name'> = {
  kind: 'network',
  iterations: 150,
  hidden: [32],
      data: { dataset: 'mnist', preprocess: { resize: [14, 14] } },
      innerBatch: 4,
      window: 2,
      episodeLength: 200,
      initWeights: { kind: 'sgd', maxSteps: 300 },
      rehearsal: { weight: 1, batch: 256, data: { errStd: [0.02, 1], wStd: [0.5, 0.5], bStd: [0.1, 0.1] } },
      optimizer: { lr: 5e-4, gradClip: 10 },
      logEvery: 10,
      checkpointEvery: 50,
};

/** The quick preset (default): the same method sized for a 2-core machine. */
export const QUICK_PRESET = {
  name: 'quick',
  seed: 0,
  model: { slowSize: 32, msgSize: 8, microTicks: 2, stateClip: [-4, 4], innerBatchMerge: 1, separateBackwardRnn: true },
  emulation: { component: 'c', wDim: 0, bDim: 1, scale: 20, eta: 1, biasEta: null },
  init: { updateCircuit: {} },
  curriculum: [
    {
      kind: 'subrnn',
      name: 'random',
      iterations: 6000,
      batch: 1024,
      window: 2,
      resetFraction: 0.1,
      data: { xStd: 2, errStd: [0.02, 1], errZero: 0.1, wStd: [0.5, 0.5], bStd: [0.1, 0.1] },
      optimizer: { lr: 5e-3, lrEnd: 2e-4, gradClip: 10 },
      logEvery: 50,
      checkpointEvery: 500,
    },
    { ...QUICK_NETWORK_STAGE, name: 'shallow-mnist', hidden: [], innerBatch: 8 },
    { ...QUICK_NETWORK_STAGE, name: 'deep-gt-errors', teacher: { errors: true } },
    { ...QUICK_NETWORK_STAGE, name: 'deep-own' },
  ],
  metatest: {
    datasets: ['mnist', 'fashion_mnist'],
    hidden: [],
    steps: 300,
    innerBatch: 64,
    seeds: [1, 2, 3],
    evalEvery: 100,
    evalCount: 1000,
    errorScale: 1,
  },
  improve: {
    generations: 10,
    popSize: 8,
    sigma0: 0.1,
    params: 'biases',
    steps: 100,
    innerBatch: 16,
    dataset: 'mnist',
    preprocess: { resize: [14, 14] },
    fitnessWindow: 0.2,
  },
} as const satisfies ClonePresetInput;

/** Both presets by name. */
export const CLONE_PRESETS = { paper: PAPER_PRESET, quick: QUICK_PRESET } as const;
/** A preset name. */
export type ClonePresetName = keyof typeof CLONE_PRESETS;
