/** @vsml/core: The VSML RNN on TensorFlow.js: sparse-shared sub-LSTMs, V_M/V_L, ticks, episodes, checkpoints. */
export const PACKAGE_NAME = "@vsml/core";
