/**
 * Plays the Temporal CLI's `temporal server start-dev` for the `vigil dev` tests, on machines without it:
 * Vigil's test server on the `--port` asked for, with each `--search-attribute Name=Type` registered as the
 * real dev server does. Writes its arguments, one a line, to $FAKE_TEMPORAL_ARGS, and says on stderr when it
 * is stopped.
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { writeFileSync } from 'node:fs';
import { startTestServer } from '@vigil/temporal-test-server';

async function main(args: string[]): Promise<void> {
  writeFileSync(process.env.FAKE_TEMPORAL_ARGS!, args.join('\n'));
  if (args[0] !== 'server' || args[1] !== 'start-dev') throw new Error(`unexpected command: ${args.join(' ')}`);
  const valueOf = (flag: string) => args.filter((_, i) => args[i - 1] === flag);
  const server = await startTestServer({ port: Number(valueOf('--port')[0]) });

  const types = temporal.api.enums.v1.IndexedValueType;
  const searchAttributes = Object.fromEntries(
    valueOf('--search-attribute').map((pair) => {
      const [name, type] = pair.split('=');
      return [name, types[`INDEXED_VALUE_TYPE_${type.toUpperCase()}` as keyof typeof types]];
    }),
  );
  const connection = await Connection.connect({ address: server.address });
  await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes });
  await connection.close();

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`fake temporal: ${signal} received, stopping\n`);
      void server.close().then(() => process.exit(0));
    });
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`fake temporal: ${String(error)}\n`);
  process.exit(1);
});
