#!/usr/bin/env node
// The `vigil` command in a checkout. Vigil runs from its TypeScript sources (there is no build step to keep in
// step), so this launcher registers tsx's require hook and hands over to src/cli/main.ts, in this process: no
// second Node process to forward Ctrl-C and exit codes through. `npx vigil --help` works after `npm install`.
'use strict';
require('tsx/cjs');
require('../src/cli/main.ts');
