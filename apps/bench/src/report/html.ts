/** The self-contained HTML page of a report: inline SVG plots, a results table, and how each row was made. */

export interface ReportSection {
  title: string;
  /** inline SVG strings */
  plots: string[];
  notes?: string[];
}

export interface ResultRow {
  learner: string;
  dataset: string;
  vm: number | null;
  vl: number | null;
  /** formatted cells keyed by column name */
  cells: Record<string, string>;
  command: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmtCount = (n: number | null) => (n === null ? '–' : n.toLocaleString('en-US'));

export function resultsTableHtml(rows: readonly ResultRow[], columns: readonly string[]): string {
  if (rows.length === 0) return '<p>No meta-test results in these runs.</p>';
  const head = ['learner', 'dataset', '|V_M|', '|V_L|', ...columns, 'command'].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => {
      const cells = [r.learner, r.dataset, fmtCount(r.vm), fmtCount(r.vl), ...columns.map((c) => r.cells[c] ?? '–')].map((c) => `<td>${escapeHtml(c)}</td>`);
      cells.push(`<td><code>${escapeHtml(r.command)}</code></td>`);
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

export function reportHtml(opts: { title: string; subtitle: string; table: string; sections: readonly ReportSection[]; provenance: string }): string {
  const sections = opts.sections
    .map(
      (s) =>
        `<section><h2>${escapeHtml(s.title)}</h2>${(s.notes ?? []).map((n) => `<p>${escapeHtml(n)}</p>`).join('')}<div class="plots">${s.plots
          .map((p) => `<figure>${p}</figure>`)
          .join('')}</div></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(opts.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:nth-child(1),td:nth-child(2),td:last-child{text-align:left}
code{font-size:12px}.plots{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}pre{background:#f7f7f7;padding:1em;overflow:auto}
</style></head><body>
<h1>${escapeHtml(opts.title)}</h1><p>${escapeHtml(opts.subtitle)}</p>
<h2>Results</h2>
${opts.table}
${sections}
<h2>Provenance</h2><pre>${escapeHtml(opts.provenance)}</pre>
</body></html>
`;
}
