/**
 * `vigil init`: which vigil the new app depends on, the app's name, and what it refuses. That the app installs and
 * its tests pass is test/package/package.test.ts's, from the packed tarball.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageNameFor } from '../../src/cli/init/app-files';
import { resolveVigilSpec } from '../../src/cli/init/vigil-spec';
import { cleanEnv, runCli } from './cli-process';

const exec = { npm_command: 'exec' };

describe('the vigil an app depends on', () => {
  const cwd = '/home/me/work';

  test('--vigil wins; a path becomes file: its absolute path, anything else is npm spec as given', () => {
    const env = { ...exec, npm_config_package: '/elsewhere/vigil-0.1.0.tgz' };
    expect(resolveVigilSpec({ option: './vigil-0.2.0.tgz', env, cwd, version: '0.1.0' })).toEqual({
      spec: 'file:/home/me/work/vigil-0.2.0.tgz',
      from: 'option',
    });
    expect(resolveVigilSpec({ option: '../vigil', env: {}, cwd, version: '0.1.0' }).spec).toBe('file:/home/me/vigil');
    for (const spec of [
      '^0.3.0',
      '0.3.1',
      'https://example.com/vigil-0.3.0.tgz',
      'npm:vigil-fork@1',
      'vigil@0.3.0',
      'github:me/vigil',
    ]) {
      expect(resolveVigilSpec({ option: spec, env: {}, cwd, version: '0.1.0' }).spec).toBe(spec);
    }
  });

  test('under `npm exec --package <tarball>`, the tarball that runs the command', () => {
    expect(
      resolveVigilSpec({ env: { ...exec, npm_config_package: './dist/vigil-0.1.0.tgz' }, cwd, version: '0.1.0' }),
    ).toEqual({
      spec: 'file:/home/me/work/dist/vigil-0.1.0.tgz',
      from: 'npm exec',
    });
    // Several packages: the one that is Vigil's tarball.
    const several = { ...exec, npm_config_package: 'typescript@6\n/tmp/vigil-0.1.0.tgz' };
    expect(resolveVigilSpec({ env: several, cwd, version: '0.1.0' }).spec).toBe('file:/tmp/vigil-0.1.0.tgz');
  });

  test("otherwise this Vigil's version, as a range: also when npm exec ran something else", () => {
    expect(resolveVigilSpec({ env: {}, cwd, version: '0.1.0' })).toEqual({ spec: '^0.1.0', from: 'version' });
    expect(resolveVigilSpec({ env: { ...exec, npm_config_package: 'vigil@0.1.0' }, cwd, version: '0.1.0' }).spec).toBe(
      '^0.1.0',
    );
    expect(resolveVigilSpec({ env: { npm_config_package: '/tmp/vigil-0.1.0.tgz' }, cwd, version: '0.1.0' }).spec).toBe(
      '^0.1.0',
    );
  });
});

test("the app's name comes from its folder, in the characters npm allows", () => {
  expect(packageNameFor('My Agents!')).toBe('my-agents');
  expect(packageNameFor('support-bot')).toBe('support-bot');
  expect(packageNameFor('.hidden')).toBe('hidden');
  expect(packageNameFor('vigil')).toBe('vigil-app'); // an app may not depend on a package of its own name
  expect(packageNameFor('!!!')).toBe('vigil-app');
});

describe('vigil init on the command line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-init-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the app into a new folder and says what it depends on', async () => {
    const target = join(dir, 'Support Bot');
    const { code, stdout } = await runCli(['init', target, '--vigil', '^0.1.0'], cleanEnv());
    expect(code).toBe(0);
    expect(stdout).toContain(`Wrote support-bot in ${target} (vigil: ^0.1.0, from --vigil).`);
    expect(readdirSync(target).sort()).toEqual([
      '.gitignore',
      'README.md',
      'package.json',
      'src',
      'test',
      'tsconfig.json',
      'vigil.config.ts',
    ]);
    const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    const own = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    // The app builds with what Vigil builds with: one zod in the tree, a compiler that reads Vigil's types.
    expect(pkg.dependencies).toEqual({ vigil: '^0.1.0', zod: own.dependencies.zod });
    expect(pkg.devDependencies).toEqual({
      '@types/node': own.devDependencies['@types/node'],
      tsx: own.dependencies.tsx,
      typescript: own.devDependencies.typescript,
    });
    expect(readFileSync(join(target, 'vigil.config.ts'), 'utf8')).toContain("name: 'helper'");
  });

  test('an empty folder is fine; a folder with anything in it is refused with exit code 2, untouched', async () => {
    expect((await runCli(['init', dir, '--vigil', '^0.1.0'], cleanEnv())).code).toBe(0);
    const other = join(dir, 'src', 'tools');
    writeFileSync(join(other, 'mine.ts'), 'export const mine = 1;\n');
    const again = await runCli(['init', dir], cleanEnv());
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `vigil: ${dir} is not empty (.gitignore, README.md, package.json, …); choose a new or empty folder`,
    );
    expect(readFileSync(join(other, 'mine.ts'), 'utf8')).toBe('export const mine = 1;\n');

    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect((await runCli(['init', file], cleanEnv())).stderr).toContain(`${file} exists and is not a folder`);
    mkdirSync(join(dir, 'empty'));
    expect((await runCli(['init', join(dir, 'empty'), '--vigil', '1.0.0'], cleanEnv())).code).toBe(0);
  });
});
