/**
 * Progress for long stages: a bar with ETA and the current metric on a TTY (cli-progress), plain log lines at a
 * steady interval otherwise (CI logs, files).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** sets the number of completed units and the metrics to show */
  update(done: number, metrics?: Record<string, number | string>): void;
  stop(): void;
}

function formatMetrics(metrics: Record<string, number | string>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(4)) : v}`)
    .join(' ');
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * @param label what is being done (e.g. `metatrain`)
 * @param total the number of units (steps, generations)
 * @param opts.stream where to write (stderr by default, so stdout stays machine-readable)
 * @param opts.intervalMs minimum time between plain log lines
 * @param opts.quiet no output at all
 */
export function createProgress(
  label: string,
  total: number,
  opts: { stream?: NodeJS.WriteStream; intervalMs?: number; quiet?: boolean; start?: number } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted} | {metrics}`, stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, opts.start ?? 0, { metrics: '' });
    return {
      update: (done, metrics = {}) => bar.update(done, { metrics: formatMetrics(metrics) }),
      stop: () => bar.stop(),
    };
  }
  const intervalMs = opts.intervalMs ?? 10_000;
  const t0 = Date.now();
  const start = opts.start ?? 0;
  let last = 0;
  return {
    update(done, metrics = {}) {
      const now = Date.now();
      if (now - last < intervalMs && done < total) return;
      last = now;
      const rate = (done - start) / Math.max(1e-9, (now - t0) / 1000);
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      stream.write(`${label} ${done}/${total} (${((100 * done) / total).toFixed(1)}%) eta ${formatSeconds(eta)} ${formatMetrics(metrics)}\n`);
    },
    stop() {},
  };
}
