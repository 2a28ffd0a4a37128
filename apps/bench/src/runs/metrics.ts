/**
 * Metrics as JSON lines, one object per line. A run killed mid-write can leave a partial last line: readers skip
 * it, and on resume the log is cut back to the checkpoint's step so a resumed run writes the same lines as an
 * uninterrupted one.
 */
import fs from 'node:fs';
import writeFileAtomic from 'write-file-atomic';

export type MetricRecord = Record<string, unknown> & { step?: number };

/** Reads every complete JSON line; a corrupt line is skipped (only a torn last line is expected). */
export function readMetrics(file: string): MetricRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: MetricRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      // torn write from an interrupted run
    }
  }
  return out;
}

export class MetricsLog {
  private constructor(readonly file: string) {}

  /** Opens (creating) a log; with `keepUpToStep`, drops records of later steps (resume after a kill). */
  static open(file: string, opts: { keepUpToStep?: number } = {}): MetricsLog {
    if (opts.keepUpToStep !== undefined && fs.existsSync(file)) {
      const kept = readMetrics(file).filter((r) => typeof r.step !== 'number' || r.step <= opts.keepUpToStep!);
      writeFileAtomic.sync(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    } else if (!fs.existsSync(file)) {
      fs.writeFileSync(file, '');
    }
    return new MetricsLog(file);
  }

  append(record: MetricRecord): void {
    fs.appendFileSync(this.file, JSON.stringify(record) + '\n');
  }

  read(): MetricRecord[] {
    return readMetrics(this.file);
  }
}
