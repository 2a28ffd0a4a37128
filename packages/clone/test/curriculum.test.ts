import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, loadCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointInput } from '@vsml/core';
import { runCurriculum, vmFromCheckpoint, type ClonePresetInput, type CloneMetricRecord } from '../src/index.js';
import { useBackend } from './helpers.js';

useBackend();

/** A tiny curriculum: random sub-RNN stage, then a deep network stage with teacher errors on Gaussian data. */
const tiny: ClonePresetInput = {
  name: 'tiny',
  seed: 5,
  model: { slowSize: 6, msgSize: 3, microTicks: 2 },
  emulation: { eta: 1 },
  curriculum: [
    { kind: 'subrnn', name: 'random', iterations: 6, batch: 32, window: 2, logEvery: 1, checkpointEvery: 2, optimizer: { lr: 1e-2 } },
    {
      kind: 'network',
      name: 'deep',
      iterations: 3,
      hidden: [3],
      data: { dataset: 'gaussian', dim: 5, classes: 3 },
      innerBatch: 2,
      population: 2,
      window: 2,
      episodeLength: 4,
      teacher: { errors: true, activations: true },
      initWeights: { kind: 'sgd', maxSteps: 3 },
      rehearsal: { weight: 0.5, batch: 16 },
      logEvery: 1,
    },
  ],
};

const dir = mkdtempSync(path.join(tmpdir(), 'vsml-clone-test-'));
let files = 0;
/** A checkpoint as it comes back from disk. */
async function roundTrip(c: CheckpointInput): Promise<Checkpoint> {
  const file = path.join(dir, `c${files++}.json`);
  await saveCheckpoint(file, c);
  return loadCheckpoint(file);
}

describe('runCurriculum', () => {
  test('runs every stage, reports metrics, checkpoints (whether the loss goes down: learning.test.ts)', async () => {
    const records: CloneMetricRecord[] = [];
    const vms: string[] = [];
    let trains = 0;
    const before = tf.memory().numTensors;
    const r = await runCurriculum({
      preset: tiny,
      callbacks: {
        onMetrics: (m) => void records.push(m),
        onCheckpoint: () => void trains++,
        onStageEnd: (_c, info) => void vms.push(info.stage),
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.completed).toEqual(['random', 'deep']);
    expect(vms).toEqual(['random', 'deep']);
    expect(trains).toBe(2 + 1 + 1); // iterations 2 and 4 of stage 0, end of each stage
    const sub = records.filter((m) => m.stage === 'random');
    expect(sub).toHaveLength(6);
    expect(sub.every((m) => Number.isFinite(m['fwdRel'] as number))).toBe(true);
    const net = records.filter((m) => m.stage === 'deep');
    expect(net).toHaveLength(3);
    expect(Object.keys(net[0]!)).toEqual(expect.arrayContaining(['ce', 'gtCe', 'acc', 'l0.fwdRel', 'l1.updWRel', 'l0.bwdRel', 'rehearsal']));
    expect(r.vm.every(Number.isFinite)).toBe(true);
  });

  test('stop and resume inside the sub-RNN stage continues identically', async () => {
    const full = await runCurriculum({ preset: tiny, stages: ['random'] });
    let ckpt: CheckpointInput | null = null;
    let n = 0;
    const part = await runCurriculum({
      preset: tiny,
      stages: ['random'],
      callbacks: { onCheckpoint: (c) => void (ckpt = c), shouldStop: () => ++n === 3 },
    });
    expect(part.stopped).toBe(true);
    const loaded = await roundTrip(ckpt!);
    expect((loaded.optimizer as { iteration: number }).iteration).toBe(3);
    const resumed = await runCurriculum({ preset: tiny, stages: ['random'], resume: loaded });
    expect(resumed.completed).toEqual(['random']);
    expect(Array.from(resumed.vm)).toEqual(Array.from(full.vm));
    expect(vmFromCheckpoint(loaded).length).toBe(full.vm.length);
  });

  test('stop and resume inside a network stage continues identically (learners, restarts, rehearsal pool in the checkpoint)', async () => {
    // 5 iterations of 2 steps with episodes of 4: learners restart (with SGD warm-up weights) inside the stage
    const preset: ClonePresetInput = { ...tiny, curriculum: [tiny.curriculum![0]!, { ...tiny.curriculum![1]!, iterations: 5 } as never] };
    const losses = (rs: CloneMetricRecord[]) => rs.map((m) => [m.step, m.loss, m['ce'], m['rehearsal']]);
    const fullRecords: CloneMetricRecord[] = [];
    const before = tf.memory().numTensors;
    const full = await runCurriculum({ preset, stages: ['deep'], callbacks: { onMetrics: (m) => void fullRecords.push(m) } });
    for (const stopAt of [1, 3]) {
      let ckpt: CheckpointInput | null = null;
      let n = 0;
      const records: CloneMetricRecord[] = [];
      const part = await runCurriculum({
        preset,
        stages: ['deep'],
        callbacks: { onMetrics: (m) => void records.push(m), onCheckpoint: (c) => void (ckpt = c), shouldStop: () => ++n === stopAt },
      });
      expect(part.stopped).toBe(true);
      const loaded = await roundTrip(ckpt!);
      const st = loaded.optimizer as { iteration: number; network: { learners: { layers: unknown[]; restarts: number } } | null };
      expect(st.iteration).toBe(stopAt);
      expect(st.network?.learners.layers).toHaveLength(2);
      const resumed = await runCurriculum({ preset, stages: ['deep'], resume: loaded, callbacks: { onMetrics: (m) => void records.push(m) } });
      expect(resumed.completed).toEqual(['deep']);
      expect(Array.from(resumed.vm)).toEqual(Array.from(full.vm));
      expect(losses(records)).toEqual(losses(fullRecords));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('refuses a checkpoint inside a network stage without learner states (older version)', async () => {
    let ckpt: CheckpointInput | null = null;
    let n = 0;
    await runCurriculum({ preset: tiny, stages: ['deep'], callbacks: { onCheckpoint: (c) => void (ckpt = c), shouldStop: () => ++n === 1 } });
    const old = { ...ckpt!, optimizer: { ...(ckpt!.optimizer as object), version: 1, network: undefined } };
    await expect(runCurriculum({ preset: tiny, stages: ['deep'], resume: await roundTrip(old) })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
  });

  test('a stop requested from a timer or signal handler is seen between iterations', async () => {
    let stop = false;
    let iterations = 0;
    setImmediate(() => (stop = true));
    const r = await runCurriculum({ preset: tiny, stages: ['random'], callbacks: { onProgress: () => void iterations++, shouldStop: () => stop } });
    expect(r.stopped).toBe(true);
    expect(iterations).toBeLessThan(6);
  });

  test('refuses a checkpoint of another preset', async () => {
    let ckpt: CheckpointInput | null = null;
    await runCurriculum({ preset: tiny, stages: ['random'], callbacks: { onCheckpoint: (c) => void (ckpt = c), shouldStop: () => true } });
    await expect(runCurriculum({ preset: { ...tiny, name: 'other' }, resume: await roundTrip(ckpt!) })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
  });
});
