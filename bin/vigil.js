#!/usr/bin/env node
// The `vigil` command. Installed from the package, it runs the compiled CLI (dist/, built by `npm pack`). In a
// checkout, where src/ is beside it, it runs the TypeScript sources through tsx's require hook instead, so what
// runs is always what is checked out (no build to keep in step); in this process either way: no second Node
// process to forward Ctrl-C and exit codes through.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
if (existsSync(join(root, 'src', 'cli', 'main.ts'))) {
  // The checkout's tsconfig maps the workspace packages to their sources, wherever the command runs from. tsx
  // reads the variable once, when it registers; it is not left for the processes and app configs this one loads.
  const before = process.env.TSX_TSCONFIG_PATH;
  process.env.TSX_TSCONFIG_PATH = join(root, 'tsconfig.json');
  require('tsx/cjs');
  if (before === undefined) delete process.env.TSX_TSCONFIG_PATH;
  else process.env.TSX_TSCONFIG_PATH = before;
  require('../src/cli/main.ts');
} else {
  require('../dist/cli/main.js');
}
