/** @vsml/evolve: CMA-ES (full and separable, IPOP restarts) and OpenAI-ES with ask/tell, serialisable state and worker-thread evaluation. */
export const PACKAGE_NAME = "@vsml/evolve";
