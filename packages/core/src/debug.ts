/**
 * `VSML_DEBUG` (read once): when set to 1/true/yes/on, the episode runner checks every step's logits for NaN and
 * infinity (reading them back, so it is slow) and throws `VsmlError('NOT_FINITE')` with the step index.
 */
let cached: boolean | null = null;

/** Whether `VSML_DEBUG` is on (read on first call). */
export function debugEnabled(): boolean {
  if (cached === null) cached = /^(1|true|yes|on)$/i.test(process.env['VSML_DEBUG'] ?? '');
  return cached;
}
