/**
 * An app's config that cannot serve stops `vigil worker` and `vigil dev` at once, with exit code 2, naming the
 * file and what is wrong, before anything connects or starts. (A config that works is served in
 * test/package/package.test.ts, from an app that installed the packed tarball.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, REPO, runCli } from './cli-process';

const dir = mkdtempSync(join(tmpdir(), 'vigil-app-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Nothing listens there: a config problem must be reported before any connection is tried. */
const env = () => cleanEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', TEMPORAL_ADDRESS: '127.0.0.1:9' });

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const defineAgentFrom = `import { defineAgent } from '${join(REPO, 'src', 'index')}';`;

test.each([
  ['a syntax error', 'broken.ts', 'export default { agents: [ ;\n', 'could not be loaded: Transform failed'],
  [
    'no default export',
    'named.ts',
    `${defineAgentFrom}\nexport const agents = [defineAgent({ name: 'a', instructions: 'x', model: 'm' })];\n`,
    'it has no default export',
  ],
  ['no agents', 'empty.mts', 'export default { agents: [] };\n', 'its config defines no agent'],
  [
    'something else than an agent',
    'plain.js',
    "module.exports = { agents: [{ name: 'a' }] };\n",
    'agents[0] is not an agent made by defineAgent',
  ],
  [
    'two agents of one name',
    'twice.ts',
    `${defineAgentFrom}\nconst a = () => defineAgent({ name: 'same', instructions: 'x', model: 'm' });\nexport default { agents: [a(), a()] };\n`,
    'agent "same" is registered twice',
  ],
])('%s: exit code 2 and the file named', async (_case, name, text, problem) => {
  const file = config(name, text);
  for (const command of [['worker'], ['dev', '--no-gateway']]) {
    const { code, stderr } = await runCli([...command, '--config', file], env());
    expect({ command: command[0], code }).toEqual({ command: command[0], code: 2 });
    expect(stderr).toContain(`${file}`);
    expect(stderr).toContain(problem);
  }
});

test('a --config that does not exist is exit code 2', async () => {
  const { code, stderr } = await runCli(['worker', '--config', join(dir, 'nope.ts')], env());
  expect(code).toBe(2);
  expect(stderr).toContain(`${join(dir, 'nope.ts')}: no such config file`);
});
