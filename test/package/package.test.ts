/**
 * Vigil as a package, tried as an app would: `npm pack`, the tarball installed into a new app (no tsx, no
 * TypeScript at run time), imported from CommonJS and ESM, type-checked with `moduleResolution` node16 and
 * bundler, its `vigil` bin run, and an agent with a tool of the app's own answering a message through a worker,
 * the workflow bundled from the installed package, on `vigil/testing`'s Temporal and a scripted model.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startScriptedModel, type ScriptedModel } from '../helpers/scripted-model';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let dir: string;
let app: string;
let tarball: string;
let files: string[];
let model: ScriptedModel;

/** Runs a command in the app, returning its output; a failure carries both streams. */
async function inApp(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd: app, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-package-'));
  // `prepack` compiles src/ into dist/ first.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, packed.filename);
  files = packed.files.map((f) => f.path);
  app = join(dir, 'app');
  await run('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  // From npm's cache where it can: these are the locked versions the checkout installed. No install scripts: a
  // package that needs one at install time would fail below.
  await inApp('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts']);
  model = await startScriptedModel();
}, 600_000);

afterAll(async () => {
  await model?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the compiled package with its types and bin, and no tests, benches or sources', () => {
  expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/vigil.js', 'dist/index.js', 'dist/index.d.ts']));
  expect(files).toEqual(expect.arrayContaining(['dist/workflows/index.js', 'dist/testing/index.js', 'dist/cli/main.js']));
  expect(files.filter((f) => /^(test|bench|src|scripts)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});

test('CommonJS and ESM apps import its public surface; internals stay out of reach', async () => {
  writeFileSync(
    join(app, 'check.cjs'),
    `const vigil = require('vigil');
     const testing = require('vigil/testing');
     let internal = 'reachable';
     try { require('vigil/dist/config.js'); } catch (e) { internal = e.code; }
     console.log(JSON.stringify({ defineAgent: typeof vigil.defineAgent, AgentClient: typeof vigil.AgentClient, sendUpdate: vigil.sendUpdate.name,
       env: typeof testing.createTemporalTestEnv, internal }));`,
  );
  writeFileSync(
    join(app, 'check.mjs'),
    `import { defineAgent, AgentClient, ValidationError, sendUpdate } from 'vigil';
     import { createTemporalTestEnv } from 'vigil/testing';
     console.log(JSON.stringify({ defineAgent: typeof defineAgent, AgentClient: typeof AgentClient, sendUpdate: sendUpdate.name,
       env: typeof createTemporalTestEnv, error: new ValidationError('x') instanceof Error }));`,
  );
  expect(JSON.parse(await inApp('node', ['check.cjs']))).toEqual({
    defineAgent: 'function',
    AgentClient: 'function',
    sendUpdate: 'send',
    env: 'function',
    internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
  });
  expect(JSON.parse(await inApp('node', ['check.mjs']))).toEqual({ defineAgent: 'function', AgentClient: 'function', sendUpdate: 'send', env: 'function', error: true });
});

test('its types check in an app with moduleResolution node16 (ESM and CommonJS) and bundler', async () => {
  const source = `import { defineAgent, defineTool, type Agent, type Reply } from 'vigil';
import type { TemporalTestEnv } from 'vigil/testing';
import { z } from 'zod';
const tool = defineTool({ name: 'shout', description: 'Upper-cases text', parameters: z.object({ text: z.string() }), execute: async ({ text }) => text.toUpperCase() });
export const agent: Agent = defineAgent({ name: 'typed', instructions: 'Be brief.', model: 'm', tools: [tool] });
export type Seen = [Reply['content'], TemporalTestEnv['namespace']];
`;
  writeFileSync(join(app, 'typed.mts'), source);
  writeFileSync(join(app, 'typed.cts'), source);
  writeFileSync(join(app, 'typed.ts'), source);
  const common = ['--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')];
  await inApp('node', [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'typed.mts', 'typed.cts']);
  await inApp('node', [tsc, ...common, '--module', 'esnext', '--moduleResolution', 'bundler', 'typed.ts']);
  // A path that is not exported is refused by the compiler too.
  writeFileSync(join(app, 'internal.mts'), `import { loadConfig } from 'vigil/dist/config.js';\nexport const f = loadConfig;\n`);
  await expect(inApp('node', [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'internal.mts'])).rejects.toThrow(/vigil\/dist\/config/);
}, 120_000);

test('the bin runs the compiled CLI, with no TypeScript tooling installed', async () => {
  await expect(inApp('node', ['-e', "require.resolve('tsx')"])).rejects.toThrow();
  expect(await inApp(join(app, 'node_modules', '.bin', 'vigil'), ['--help'])).toContain('Usage: vigil');
});

test("an app's own agent and tool answer a message through a worker that bundles the installed workflows", async () => {
  model.script({ toolCalls: [{ id: 'call_1', name: 'shout', arguments: '{"text":"hello from the app"}' }] }, { content: 'It said HELLO FROM THE APP.' });
  writeFileSync(
    join(app, 'run.mjs'),
    `import { AgentClient, AgentRegistry, createVigilClient, createVigilWorker, defineAgent, defineTool, loadConfig } from 'vigil';
import { createTemporalTestEnv } from 'vigil/testing';
import { z } from 'zod';
import pino from 'pino';

const shout = defineTool({ name: 'shout', description: 'Upper-cases text', parameters: z.object({ text: z.string() }), execute: async ({ text }) => text.toUpperCase() });
const agent = defineAgent({ name: 'app-agent', instructions: 'Be brief.', model: 'test-model', tools: [shout] });
const env = await createTemporalTestEnv();
const config = loadConfig({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace, VIGIL_TASK_QUEUE: 'app', OPENAI_BASE_URL: process.env.MODEL_URL, VIGIL_DATA_DIR: 'data' });
const vigil = await createVigilWorker({ config, agents: new AgentRegistry([agent]), connection: env.nativeConnection, logger: pino({ level: 'silent' }) });
const running = vigil.run();
const client = new AgentClient({ client: createVigilClient({ connection: env.connection, namespace: env.namespace, store: vigil.store }), taskQueue: 'app', store: vigil.store });
const reply = await client.send('app-agent', 'c1', { id: 'm1', content: 'shout it' });
vigil.shutdown();
await running;
await env.teardown();
console.log(JSON.stringify({ status: reply.status, content: reply.content }));
`,
  );
  const out = await inApp('node', ['run.mjs'], { MODEL_URL: model.baseURL });
  expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ status: 'completed', content: 'It said HELLO FROM THE APP.' });
  // The tool ran in the app: its result went back to the model.
  const second = model.requests.at(-1)!.body.messages.at(-1);
  expect(second).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'HELLO FROM THE APP' });
}, 180_000);
