/** @vsml/metatrain: Meta-training VSML from scratch (meta-gradients and evolution strategies), the meta-test protocol and baselines. */
export const PACKAGE_NAME = "@vsml/metatrain";
