/** @vsml/datasets: MNIST, Fashion-MNIST, IDX files, synthetic tasks, preprocessing and seeded episode streams for VSML (typed arrays, no tfjs). */
export const PACKAGE_NAME = "@vsml/datasets";
