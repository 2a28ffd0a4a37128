import {
  clearDatasetMemo,
  DATASET_ERROR_CODES,
  DATASET_NAMES,
  DatasetError,
  datasetInfo,
  fromArrays,
  isDatasetError,
  loadDataset,
  OFFICIAL_STATS,
} from '../src/index.js';
import { thrown } from './helpers.js';

beforeEach(clearDatasetMemo);

describe('registry', () => {
  test('names, info, official stats', () => {
    expect(DATASET_NAMES).toEqual(['mnist', 'fashion_mnist', 'random', 'sum']);
    expect(OFFICIAL_STATS.fashion_mnist).toEqual(OFFICIAL_STATS.mnist);
    expect(OFFICIAL_STATS.mnist).toEqual({ mean: 0.13066, std: 0.30811 });
    expect(datasetInfo('fashion_mnist')).toMatchObject({ rows: 28, cols: 28, numClasses: 10, sizes: { train: 60000, test: 10000 } });
    expect(datasetInfo('fashion_mnist', { stats: OFFICIAL_STATS.kmnist }).stats).toEqual({ mean: 0.19176, std: 0.34834 });
    expect(datasetInfo('random', { synthetic: { size: 5, numClasses: 3, rows: 7, cols: 7 } })).toMatchObject({
      kind: 'array',
      rows: 7,
      numClasses: 3,
      sizes: { train: 5, test: 5 },
    });
    expect(datasetInfo('sum')).toMatchObject({ kind: 'generated', numClasses: 2, sizes: { train: null, test: null }, stats: { mean: 0, std: 1 } });
  });

  test('unknown names and bad options', () => {
    const e = thrown(() => loadDataset('cifar10'));
    expect(e).toMatchObject({ name: 'DatasetError', code: 'UNKNOWN_DATASET' });
    expect(e.message).toContain('unknown dataset "cifar10" (known: mnist, fashion_mnist, random, sum, or idx:<directory>)');
    expect(thrown(() => loadDataset('idx:')).code).toBe('UNKNOWN_DATASET');
    expect(thrown(() => loadDataset('mnist', { split: 'validation' as never })).code).toBe('INVALID_CONFIG');
    expect(thrown(() => loadDataset('mnist', { numClasses: 3 })).code).toBe('INVALID_CONFIG');
    expect(thrown(() => loadDataset('mnist', { synthetic: { size: 3 } })).code).toBe('INVALID_CONFIG');
    expect(thrown(() => loadDataset('mnist', { stats: { mean: 0, std: -1 } })).code).toBe('INVALID_CONFIG');
    expect(thrown(() => loadDataset('random', { synthetic: { size: 0 } })).message).toContain('size must be an integer');
  });

  test('memoised loads; stats override; synthetic options', () => {
    const a = loadDataset('random');
    expect(loadDataset('random')).toBe(a);
    expect(loadDataset('random', { memo: false })).not.toBe(a);
    expect(loadDataset('random', { stats: { mean: 1, std: 2 } }).stats).toEqual({ mean: 1, std: 2 });
    const r = loadDataset('random', { synthetic: { size: 7, numClasses: 2, rows: 3, cols: 5, seed: 9 } });
    expect(r).toMatchObject({ size: 7, numClasses: 2, rows: 3, cols: 5 });
    expect(loadDataset('sum', { synthetic: { rows: 7, cols: 7 } })).toMatchObject({ rows: 7, cols: 7 });
  });

  test('fromArrays validates', () => {
    const images = new Uint8Array(12);
    expect(fromArrays({ name: 'x', rows: 2, cols: 2, images, labels: Uint8Array.of(0, 2, 1) })).toMatchObject({ size: 3, numClasses: 3 });
    expect(thrown(() => fromArrays({ name: 'x', rows: 2, cols: 3, images, labels: Uint8Array.of(0, 2, 1) })).code).toBe('SIZE_MISMATCH');
    expect(thrown(() => fromArrays({ name: 'x', rows: 2, cols: 2, images, labels: Uint8Array.of(0, 2, 1), numClasses: 2 })).code).toBe('BAD_DATA');
  });
});

describe('DatasetError', () => {
  test('shape, code table, plain-data identification', () => {
    const e = new DatasetError('TRUNCATED', 'f: truncated', { file: 'f', details: { n: 1 } });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('DatasetError');
    expect(e.toJSON()).toEqual({ name: 'DatasetError', code: 'TRUNCATED', message: 'f: truncated', file: 'f', details: { n: 1 } });
    expect(isDatasetError(e)).toBe(true);
    const cloned = structuredClone(e.toJSON());
    expect(isDatasetError(cloned)).toBe(true);
    expect(isDatasetError({ name: 'DatasetError', code: 'NOPE' })).toBe(false);
    expect(isDatasetError(new Error('x'))).toBe(false);
    for (const [k, v] of Object.entries(DATASET_ERROR_CODES)) expect(k).toBe(v);
  });
});
