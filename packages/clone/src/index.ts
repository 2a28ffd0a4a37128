/** @vsml/clone: Learning-algorithm cloning: teach the VSML RNN backpropagation, the curriculum, and improving the clone with CMA-ES. */
export const PACKAGE_NAME = "@vsml/clone";
