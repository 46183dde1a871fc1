/** `vigil init [dir]`: a new app with one agent, a tool of its own and a test of the agent, ready for `npm install`. */
import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { appFiles, packageNameFor } from '../init/app-files';
import { resolveVigilSpec } from '../init/vigil-spec';
import { writeApp } from '../init/write-app';

/** Vigil's own package.json, from src/cli/commands or dist/cli/commands alike. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const vigilPackage = require('../../../package.json') as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
};

/** The versions Vigil is built with, for the app's compiler and test runner; a range when Vigil's lists none. */
function builtWith(name: string, fallback: string): string {
  return vigilPackage.dependencies[name] ?? vigilPackage.devDependencies?.[name] ?? fallback;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a new app: an agent with a tool of its own, a test of it with vigil/testing, and a README')
    .argument('[dir]', 'the folder to write the app into; it must be new or empty', '.')
    .option(
      '--vigil <spec>',
      "what the app depends on for vigil: a version, a tarball's path or URL (default: see below)",
    )
    .addHelpText(
      'after',
      `
The app's package.json depends on vigil as --vigil says; without it, on the tarball \`npm exec --package\` ran
this command from, else on this Vigil's version. A path becomes file:<absolute path>.
Exit codes: 0 when the app is written, 2 when the folder is not empty or the command line is wrong.

Examples:
  $ npm exec --package ./vigil-0.1.0.tgz -- vigil init my-agents
  $ vigil init my-agents --vigil ../vigil/vigil-0.1.0.tgz
  $ cd my-agents && npm install && npm test && npx vigil dev`,
    )
    .action((dir: string, options: { vigil?: string }) => {
      const target = resolve(process.cwd(), dir);
      const vigil = resolveVigilSpec({
        option: options.vigil,
        env: process.env,
        cwd: process.cwd(),
        version: vigilPackage.version,
      });
      const name = packageNameFor(basename(target));
      writeApp(
        target,
        appFiles(name, {
          vigil: vigil.spec,
          zod: builtWith('zod', '^4'),
          tsx: builtWith('tsx', '^4'),
          typescript: builtWith('typescript', '^5'),
          typesNode: builtWith('@types/node', '^20'),
        }),
      );
      const cd = dir === '.' ? '' : `cd ${/[\s'"$]/.test(dir) ? JSON.stringify(dir) : dir} && `;
      process.stdout.write(
        `Wrote ${name} in ${target} (vigil: ${vigil.spec}, from ${vigil.from === 'option' ? '--vigil' : vigil.from}).\n` +
          `Next: ${cd}npm install && npm test, then npx vigil dev\n`,
      );
    });
}
