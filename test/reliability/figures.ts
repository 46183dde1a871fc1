/**
 * What a run of the suite measured: figures, each with whether it is what the suite requires. The table has one
 * row per figure and one column per Temporal server, so the two servers read side by side.
 */
import type { ServerKind } from './temporal-backends';

export interface Figure {
  part: string;
  name: string;
  value: string;
  /** False when the figure breaks the suite's requirement; the run then fails. */
  ok: boolean;
}

export class Figures {
  readonly all: (Figure & { server: ServerKind })[] = [];

  constructor(private readonly server: ServerKind) {}

  /** A measurement with no requirement on it (a count, a duration). */
  note(part: string, name: string, value: string | number): void {
    this.all.push({ server: this.server, part, name, value: String(value), ok: true });
  }

  /** A measurement that must hold: `ok` false fails the run, and the table marks it. */
  check(part: string, name: string, value: string | number, ok: boolean): void {
    this.all.push({ server: this.server, part, name, value: String(value), ok });
  }

  /** A count that must be zero. */
  zero(part: string, name: string, count: number): void {
    this.check(part, name, count, count === 0);
  }
}

/** A markdown table: one row per figure, one column per server; a failed figure is marked with ✗. */
export function renderTable(runs: Figures[], servers: ServerKind[]): string {
  const rows = new Map<string, { part: string; name: string; values: Map<ServerKind, Figure> }>();
  for (const figure of runs.flatMap((r) => r.all)) {
    const key = `${figure.part}\u0000${figure.name}`;
    const row = rows.get(key) ?? { part: figure.part, name: figure.name, values: new Map() };
    row.values.set(figure.server, figure);
    rows.set(key, row);
  }
  const header = ['part', 'figure', ...servers.map((s) => (s === 'real' ? 'real dev server' : 'in-process'))];
  const body = [...rows.values()].map((row) => [
    row.part,
    row.name,
    ...servers.map((s) => {
      const figure = row.values.get(s);
      if (!figure) return '–';
      return figure.ok ? figure.value : `✗ ${figure.value}`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function failures(runs: Figures[]): Figure[] {
  return runs.flatMap((r) => r.all.filter((f) => !f.ok));
}
