import { Client } from 'pg';
import { ConfigError, StoreUnavailableError } from '../../src/errors';
import { CONTENT_TABLE, PostgresContentStore, createContentStore } from '../../src/store';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { contentStoreContract } from './content-store-contract';

let postgres: TestPostgres;
let url: string;
let sql: Client;

beforeAll(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('vigil');
  sql = new Client({ connectionString: url });
  await sql.connect();
}, 30_000);
afterAll(async () => {
  await sql?.end();
  await postgres?.stop();
});

describe('PostgresContentStore', () => {
  contentStoreContract(() => ({
    open: () => new PostgresContentStore({ url }),
    countEntries: async () => Number((await sql.query(`SELECT count(*) AS n FROM ${CONTENT_TABLE}`)).rows[0].n),
    corrupt: async (ref) => {
      await sql.query(`UPDATE ${CONTENT_TABLE} SET content = convert_to('the changed words', 'UTF8') WHERE ref = $1`, [
        ref,
      ]);
    },
  }));

  test("creates its table on first use and records each entry's size", async () => {
    const store = new PostgresContentStore({ url });
    const ref = await store.put('ünïcode');
    const { rows } = await sql.query(`SELECT bytes, created_at FROM ${CONTENT_TABLE} WHERE ref = $1`, [ref]);
    expect(rows).toEqual([{ bytes: Buffer.byteLength('ünïcode'), created_at: expect.any(Date) }]);
    await store.close();
  });

  test('content survives a restart of the database server', async () => {
    const store = new PostgresContentStore({ url });
    const ref = await store.put('committed before the restart');
    await store.close();
    await sql.end();
    await postgres.restart();
    url = url.replace(/:\d+\//, `:${postgres.port}/`);
    sql = new Client({ connectionString: url });
    await sql.connect();
    const reopened = new PostgresContentStore({ url });
    expect(await reopened.get(ref)).toBe('committed before the restart');
    await reopened.close();
  });

  test('errors never carry the connection password', async () => {
    const wrongPassword = url.replace(postgres.password, 'not-the-pw-hunter2');
    const refused = new PostgresContentStore({ url: wrongPassword, connectionTimeoutMs: 5_000 });
    const unreachable = new PostgresContentStore({ url: url.replace(/:\d+\//, ':1/'), connectionTimeoutMs: 5_000 });
    for (const [store, secret] of [
      [refused, 'not-the-pw-hunter2'],
      [unreachable, postgres.password],
    ] as const) {
      const error = await store.put('anything').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).message).toMatch(
        /could not store content sha256:[0-9a-f]{64} in postgres:127\.0\.0\.1:\d+\/vigil/,
      );
      const everything = `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)} ${JSON.stringify((error as Error).cause ?? null)}`;
      expect(everything).not.toContain(secret);
      expect(store.name).not.toContain(secret);
      await store.close();
    }
    const malformed = `mysql://vigil:${postgres.password}@db/vigil`;
    expect(() => new PostgresContentStore({ url: malformed })).toThrow(ConfigError);
    expect(() => new PostgresContentStore({ url: malformed })).not.toThrow(postgres.password);
  });

  test('createContentStore makes a PostgreSQL store when VIGIL_STORE is postgres', async () => {
    const store = createContentStore({ kind: 'postgres', url, payloadThresholdBytes: 65536 });
    expect(store).toBeInstanceOf(PostgresContentStore);
    expect(await store.get(await store.put('through the factory'))).toBe('through the factory');
    await store.close();
  });
});
