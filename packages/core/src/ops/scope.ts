/**
 * `op(name, f)`: every VSML op runs inside one named `tf.tidy` scope (the tfjs `op()` idea): intermediates are
 * disposed when the op returns (also when it throws); only tensors reachable from the result survive.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Wraps `f` so that each call runs in `tf.tidy('vsml/<name>', ...)`. */
export function op<A extends unknown[], R>(name: string, f: (...args: A) => R): (...args: A) => R {
  const scope = `vsml/${name}`;
  const wrapped = (...args: A): R => tf.tidy(scope, () => f(...args) as unknown as tf.TensorContainer) as unknown as R;
  Object.defineProperty(wrapped, 'name', { value: name });
  return wrapped;
}
