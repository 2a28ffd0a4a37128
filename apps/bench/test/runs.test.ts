import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRunDir, openRunDir, finishRun, readJson, readRunInfo, type RunInfo } from '../src/runs/run-dir.js';
import { guardRun } from '../src/commands/common.js';
import { MetricsLog, readMetrics } from '../src/runs/metrics.js';
import { createProgress } from '../src/runs/progress.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-runs-'));

describe('run directories', () => {
  it('records config and provenance, refuses to overwrite, resumes only the same command', () => {
    const root = tmp();
    const run = createRunDir({ command: 'metatrain', name: 'tiny run', root, seed: 3, config: { a: 1 } });
    expect(path.basename(run.dir)).toMatch(/^\d{8}T\d{6}Z-metatrain-tiny-run$/);
    const info = readJson<{ seed: number; commit: string; status: string }>(run.file('run.json'));
    expect(info.seed).toBe(3);
    expect(info.status).toBe('running');
    expect(typeof info.commit).toBe('string');
    expect(readJson(run.file('config.json'))).toEqual({ a: 1 });
    expect(() => createRunDir({ command: 'metatrain', seed: 3, config: {}, out: run.dir })).toThrow(/--resume/);
    expect(() => openRunDir(run.dir, 'clone')).toThrow(/'metatrain' run/);
    const again = openRunDir(run.dir, 'metatrain');
    expect(again.config).toEqual({ a: 1 });
    expect(again.info.resumedAt).toHaveLength(1);
    finishRun(again, 'completed');
    expect(readJson<{ status: string }>(run.file('run.json')).status).toBe('completed');
  });

  it('tells the truth about the status: running while the process lives, interrupted when it is gone, failed on errors', async () => {
    const root = tmp();
    const run = createRunDir({ command: 'clone', root, seed: 1, config: {} });
    const info = readJson<RunInfo>(run.file('run.json'));
    expect(info).toMatchObject({ status: 'running', pid: process.pid, host: os.hostname() });
    expect(readRunInfo(run.dir).status).toBe('running'); // this process
    // a run whose process is gone (kill -9, crash): found and recorded as interrupted, resumable
    const gone = { ...info, pid: 2 ** 22 + 12345 };
    fs.writeFileSync(run.file('run.json'), JSON.stringify(gone));
    expect(readRunInfo(run.dir).status).toBe('interrupted');
    expect(readJson<RunInfo>(run.file('run.json')).status).toBe('interrupted');
    // a live process of another run: still running, not resumable
    fs.writeFileSync(run.file('run.json'), JSON.stringify({ ...info, pid: process.ppid }));
    expect(readRunInfo(run.dir).status).toBe('running');
    expect(() => openRunDir(run.dir, 'clone')).toThrow(/still running/);
    // another host: cannot tell, stays running
    fs.writeFileSync(run.file('run.json'), JSON.stringify({ ...info, pid: 2 ** 22 + 12345, host: 'elsewhere' }));
    expect(readRunInfo(run.dir).status).toBe('running');
    // resuming removes temporary files of a killed atomic write
    fs.writeFileSync(run.file('run.json'), JSON.stringify(gone));
    fs.writeFileSync(run.file('.checkpoint.json.1.2.3.tmp'), '{');
    const resumed = openRunDir(run.dir, 'clone');
    expect(fs.existsSync(run.file('.checkpoint.json.1.2.3.tmp'))).toBe(false);
    expect(resumed.info).toMatchObject({ status: 'running', pid: process.pid });
    finishRun(resumed, 'interrupted');
    expect(readJson<RunInfo>(run.file('run.json')).status).toBe('interrupted');
    // an error: failed, with its message
    const again = openRunDir(run.dir, 'clone');
    await expect(guardRun(again, async () => { throw new Error('disk full'); })).rejects.toThrow('disk full');
    expect(readJson<RunInfo>(run.file('run.json'))).toMatchObject({ status: 'failed', error: 'disk full' });
  });

  it('names the file when JSON is corrupt', () => {
    const f = path.join(tmp(), 'x.json');
    fs.writeFileSync(f, '{"a":');
    expect(() => readJson(f)).toThrow(/x\.json is not valid JSON/);
    expect(() => readJson(f + '.missing')).toThrow(/cannot read/);
  });
});

describe('metrics log', () => {
  it('skips a torn last line and cuts back to a step on resume', () => {
    const f = path.join(tmp(), 'metrics.jsonl');
    const log = MetricsLog.open(f);
    for (let s = 1; s <= 5; s++) log.append({ step: s, loss: 1 / s });
    fs.appendFileSync(f, '{"step": 6, "lo');
    expect(readMetrics(f).map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    const resumed = MetricsLog.open(f, { keepUpToStep: 3 });
    expect(resumed.read().map((r) => r.step)).toEqual([1, 2, 3]);
    resumed.append({ step: 4, loss: 0.25 });
    expect(readMetrics(f).map((r) => r.step)).toEqual([1, 2, 3, 4]);
  });
});

describe('progress', () => {
  it('writes plain lines with an ETA when not on a TTY', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const p = createProgress('metatrain', 10, { stream, intervalMs: 0 });
    p.update(5, { loss: 0.123456 });
    p.update(10, { loss: 0.1 });
    p.stop();
    expect(lines[0]).toMatch(/^metatrain 5\/10 \(50\.0%\) eta \S+ loss=0\.1235/);
    expect(lines).toHaveLength(2);
  });
});
