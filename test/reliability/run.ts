/**
 * `npm run reliability [-- --server in-process|real|both] [--part N ...] [--seed N] [--load-minutes M]
 * [--load-rate R] [--load-conversations C]`: Vigil under fire, on real
 * processes, with figures. For each Temporal server it starts a deployment (stack.ts), runs the parts in order,
 * then looks for every secret in everything the run produced, and prints one table with a column per server.
 * Exit code 1 when any figure breaks its requirement (marked ✗), 2 for a bad command line.
 *
 * The real server is the Temporal CLI's dev server: VIGIL_TEMPORAL_CLI, `temporal` on PATH, or the one
 * `npm run install-temporal` installed. Logs, histories and the report stay in the run's folder (printed).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findTemporalCli } from '../../src/testing/temporal-cli';
import { failures, Figures, renderTable } from './figures';
import { badInput } from './bad-input';
import { killStorm } from './kill-storm';
import { limits } from './limits';
import { providerFaults } from './provider-faults';
import { DEFAULT_LOAD, load, type LoadSize } from './load';
import { stopAll } from './processes';
import { seededRandom, type Random } from './random';
import { secretsAndIsolation } from './secrets';
import { startStack, type Stack } from './stack';
import { startBackend, type ServerKind } from './temporal-backends';

interface RunOptions {
  load: LoadSize;
}

type Part = (stack: Stack, figures: Figures, random: Random, tag: string, options: RunOptions) => Promise<void>;

/**
 * The order the parts run in: the secrets part last, over everything the others produced. Spelled out because
 * object keys that look like numbers iterate in numeric order.
 */
const ORDER = ['1', '2', '3', '4', '6', '5'];

const PARTS: Record<string, Part> = {
  '1': killStorm,
  '2': badInput,
  '3': limits,
  '4': providerFaults,
  '6': (stack, figures, random, tag, options) => load(stack, figures, random, tag, options.load),
  '5': secretsAndIsolation,
};

function usage(message: string): never {
  process.stderr.write(
    `reliability: ${message}\nusage: npm run reliability -- [--server in-process|real|both] [--part N ...] [--seed N] [--load-minutes M] [--load-rate R] [--load-conversations C]\n`,
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string', default: 'both' },
      part: { type: 'string', multiple: true },
      seed: { type: 'string' },
      'load-minutes': { type: 'string' },
      'load-rate': { type: 'string' },
      'load-conversations': { type: 'string' },
    },
  });
  const size = (name: 'load-minutes' | 'load-rate' | 'load-conversations', fallback: number) => {
    const value = values[name] === undefined ? fallback : Number(values[name]);
    return Number.isFinite(value) && value > 0 ? value : usage(`--${name} ${values[name]}?`);
  };
  const options: RunOptions = {
    load: {
      minutes: size('load-minutes', DEFAULT_LOAD.minutes),
      rate: size('load-rate', DEFAULT_LOAD.rate),
      conversations: Math.round(size('load-conversations', DEFAULT_LOAD.conversations)),
    },
  };
  const servers: ServerKind[] =
    values.server === 'both'
      ? ['in-process', 'real']
      : values.server === 'in-process' || values.server === 'real'
        ? [values.server]
        : usage(`--server ${values.server}?`);
  const parts = ORDER.filter((part) => values.part === undefined || values.part.includes(part));
  for (const part of values.part ?? [])
    if (!PARTS[part]) usage(`no part ${part}; the parts are ${Object.keys(PARTS).sort().join(', ')}`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed)) usage(`--seed ${values.seed}?`);
  const cli = servers.includes('real') ? findTemporalCli({ installed: true }) : undefined;
  if (servers.includes('real') && !cli) {
    usage(
      'no Temporal CLI for the real server: set VIGIL_TEMPORAL_CLI, or run `npm run install-temporal`, or pass --server in-process',
    );
  }

  const runDir = mkdtempSync(join(tmpdir(), 'vigil-reliability-'));
  process.stderr.write(`reliability: seed ${seed}; logs, histories and the report in ${runDir}\n`);
  const runs: Figures[] = [];
  for (const server of servers) {
    const figures = new Figures(server);
    runs.push(figures);
    const serverDir = join(runDir, server);
    mkdirSync(serverDir, { recursive: true });
    const started = Date.now();
    const backend = await startBackend(server, { runDir: serverDir, cli, env: process.env });
    try {
      const stack = await startStack(backend, serverDir);
      const random = seededRandom(seed);
      try {
        for (const part of parts) {
          process.stderr.write(`reliability: ${server}: part ${part}\n`);
          await PARTS[part](stack, figures, random, `${server === 'real' ? 'r' : 'p'}${seed.toString(36)}`, options);
        }
      } finally {
        await stack.close();
      }
    } finally {
      await backend.close();
    }
    figures.note('run', 'minutes', ((Date.now() - started) / 60_000).toFixed(1));
  }

  const table = renderTable(runs, servers);
  writeFileSync(join(runDir, 'report.md'), `${table}\n`);
  process.stdout.write(`\n${table}\n\nseed ${seed}\n`);
  const failed = failures(runs);
  for (const f of failed) process.stderr.write(`reliability: ✗ ${f.part}: ${f.name}: ${f.value}\n`);
  return failed.length === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().then(() => process.exit(130)));
}
main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (error: unknown) => {
    process.stderr.write(`reliability: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await stopAll();
    process.exit(1);
  },
);
