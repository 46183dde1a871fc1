/**
 * Durations as people read them in replies and failure messages ("60 s", "5 min", "1.5 s"). Sandbox-safe: the
 * workflow names an agent's limits with it, the model activity its idle timeout.
 */

/** `90_000` → "90 s", `300_000` → "5 min", `1_500` → "1.5 s", `250` → "250 ms". */
export function describeDuration(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms)} ms`;
}
