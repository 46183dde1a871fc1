/**
 * The `vigil` command: `npx vigil --help` (through bin/vigil.js), or `npm run vigil -- <command>`.
 * Exit codes: 0 ok, 1 the command failed, 2 a bad command line or configuration.
 */
import { runCli } from './program';

/**
 * Exits once stdout and stderr have taken everything written to them: writes to a pipe are asynchronous, and
 * an immediate process.exit could cut off the end of a report that a script or a test is reading.
 */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

runCli(process.argv.slice(2)).then(exitWhenFlushed, (error: unknown) => {
  console.error('vigil: unexpected failure:', error);
  exitWhenFlushed(1);
});
