// WorkerPool: tasks on worker threads, results in task order, errors as data with their name and code.
import path from 'node:path';
import { WorkerPool, isVsmlError, runInWorkers } from '../src/index.js';

const taskModule = path.join(__dirname, 'helpers', 'pool-task.mjs');
type Out = { i: number; v: number; data: Float32Array; thread: number };

describe('WorkerPool', () => {
  test('2 threads: results in task order, typed arrays cross, both threads used', async () => {
    const pool = new WorkerPool({ module: taskModule, exportName: 'square', threads: 2 });
    try {
      expect(pool.threads).toBe(2);
      const seen: number[] = [];
      const out = await pool.map<{ i: number }, Out>(Array.from({ length: 8 }, (_, i) => ({ i })), (_r, i) => void seen.push(i));
      expect(out.map((o) => o.v)).toEqual([0, 1, 4, 9, 16, 25, 36, 49]);
      expect(out[3]!.data).toEqual(Float32Array.from([3, 0.5]));
      expect(new Set(out.map((o) => o.thread)).size).toBe(2);
      expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await pool.close();
    }
  });

  test('a throwing task rejects with its name, code and details; the pool keeps working', async () => {
    const pool = new WorkerPool({ module: taskModule, exportName: 'square' });
    try {
      await expect(pool.map([{ i: 1 }, { i: 2, fail: true }])).rejects.toMatchObject({ name: 'CloneError', code: 'BAD_ARGUMENT', details: { i: 2 } });
      expect(await pool.run<Out>({ i: 3 })).toMatchObject({ v: 9 });
    } finally {
      await pool.close();
    }
  });

  test('bad options and a missing export', async () => {
    expect(() => new WorkerPool({ module: taskModule, threads: 0 })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    const e = await runInWorkers([{ i: 0 }], { module: taskModule, exportName: 'nope' }).catch((x: unknown) => x);
    expect(isVsmlError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'WORKER_FAILED' });
  });
});
