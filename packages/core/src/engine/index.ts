/**
 * The forward engine of `@vsml/core`: fused VSML forward episodes in WebAssembly SIMD (no tfjs, no gradients).
 * These are the names the package re-exports (see the integration note in assembly/README.md).
 */
export {
  createForwardEngine,
  ForwardEngine,
  ENGINE_UNSUPPORTED,
  type ForwardEngineOptions,
  type ForwardEngineOnlyOptions,
  type EngineEpisodeResult,
} from './forward-engine.js';
export { relaxedSimdAvailable, type SimdMode, type SimdVariant } from './wasm.js';
