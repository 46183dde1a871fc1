#!/usr/bin/env node
// The `vigil` command. Installed from the package, it runs the compiled CLI (dist/, built by `npm pack`). In a
// checkout, where src/ is beside it, it runs the TypeScript sources through tsx's require hook instead, so what
// runs is always what is checked out (no build to keep in step); in this process either way: no second Node
// process to forward Ctrl-C and exit codes through.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (existsSync(join(__dirname, '..', 'src', 'cli', 'main.ts'))) {
  require('tsx/cjs');
  require('../src/cli/main.ts');
} else {
  require('../dist/cli/main.js');
}
