/** Measuring and printing helpers shared by the benchmarks (bench/run.ts, bench/conversation.ts). */
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface Row {
  name: string;
  value: number;
  unit: string;
  /** Name and value of the baseline this row is compared with. */
  baseline?: { name: string; value: number };
}

/** A non-negative integer from the environment, or `fallback` when unset or malformed. */
export const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
};

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export async function timeEach(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** Runs `total` jobs with at most `concurrency` in flight; returns the elapsed wall time in ms. */
export async function pool(total: number, concurrency: number, job: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await job(next++);
    }),
  );
  return performance.now() - t0;
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : value.toFixed(1);
  return value < 100 ? value.toFixed(1) : Math.round(value).toString();
}

export function printTable(rows: Row[]): void {
  const header = ['benchmark', 'value', 'unit', 'baseline', 'ratio'];
  const lines = rows.map((r) => [
    r.name,
    format(r.value, r.unit),
    r.unit,
    r.baseline ? `${r.baseline.name} = ${format(r.baseline.value, r.unit)}` : '',
    r.baseline && Number.isFinite(r.value / r.baseline.value) ? `${(r.value / r.baseline.value).toFixed(2)}x` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(render(l));
}

/** The `machine:` line both benchmarks print. */
export function machineLine(): string {
  const cpu = cpus();
  return `${cpu.length} cpus (${cpu[0]?.model ?? 'unknown'}), ${mb(totalmem())} MB RAM, node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Runs a benchmark's main and exits: 0 once it is done (never hanging on a leftover native thread), 1 on failure. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => {
      process.exitCode = 0;
      // Native worker threads should already be gone; never hang the caller if something is left.
      setTimeout(() => process.exit(0), 5_000).unref();
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
