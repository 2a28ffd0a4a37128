/**
 * Turns anything thrown into one line for a person. Library errors (`VsmlError`, `DatasetError`,
 * `EvolveError`, ...) are recognised by `name` and `code`, which survive worker threads.
 */
export function toUserMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown; message?: unknown };
    const msg = typeof e.message === 'string' ? e.message : String(err);
    if (typeof e.code === 'string' && typeof e.name === 'string' && e.name !== 'Error') return `${e.name} [${e.code}]: ${msg}`;
    return msg;
  }
  return String(err);
}
