/**
 * The production content store: one row per content in PostgreSQL, in table `vigil_content` (created when
 * missing). Contents are kept as bytea, the exact UTF-8 bytes that were hashed: a text column refuses NUL
 * characters, which tool outputs do contain. A put is one `INSERT ... ON CONFLICT DO NOTHING`, committed before
 * the reference is returned.
 *
 * Errors never carry the connection URL or its password: driver errors are rewrapped with the password
 * removed, and the store's name shows only host, port and database.
 */
import { Pool, type PoolConfig } from 'pg';
import { ConfigError, ContentMissingError, StoreUnavailableError } from '../errors';
import { contentRef, verifiedContent } from './content-hash';
import { requireContentRef, type ContentRef } from './content-ref';
import type { ContentStore } from './content-store';

export const CONTENT_TABLE = 'vigil_content';

export interface PostgresContentStoreOptions {
  /** `postgres://user:password@host:5432/database`; a secret, never logged. */
  url: string;
  /** Pool size; default 10. */
  maxConnections?: number;
  /** How long to wait for a connection; default 10 s. */
  connectionTimeoutMs?: number;
  /** A query running longer fails; default 30 s. */
  queryTimeoutMs?: number;
}

export class PostgresContentStore implements ContentStore {
  readonly name: string;
  private readonly pool: Pool;
  private readonly secrets: string[];
  private schema?: Promise<void>;

  constructor(options: PostgresContentStoreOptions) {
    const url = parseUrl(options.url);
    this.name = `postgres:${url.host}${url.pathname}#${CONTENT_TABLE}`;
    this.secrets = [options.url, url.password, decodeURIComponent(url.password)].filter((value) => value !== '');
    const config: PoolConfig = {
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      query_timeout: options.queryTimeoutMs ?? 30_000,
      application_name: 'vigil-content-store',
    };
    this.pool = new Pool(config);
    // An idle connection dropped by the server must not crash the worker; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async put(content: string): Promise<ContentRef> {
    const bytes = Buffer.from(content, 'utf8');
    const ref = contentRef(bytes);
    await this.query(
      `INSERT INTO ${CONTENT_TABLE} (ref, content, bytes) VALUES ($1, $2, $3) ON CONFLICT (ref) DO NOTHING`,
      [ref, bytes, bytes.length],
      `could not store content ${ref}`,
    );
    return ref;
  }

  async get(ref: string): Promise<string> {
    return (await this.getMany([ref]))[0];
  }

  async getMany(refs: readonly string[]): Promise<string[]> {
    refs.forEach(requireContentRef);
    const unique = [...new Set(refs)];
    if (unique.length === 0) return [];
    const rows = await this.query<{ ref: string; content: Buffer }>(
      `SELECT ref, content FROM ${CONTENT_TABLE} WHERE ref = ANY($1::text[])`,
      [unique],
      `could not read ${unique.length === 1 ? `content ${unique[0]}` : `${unique.length} contents`}`,
    );
    const found = new Map(rows.map((row) => [row.ref, row.content]));
    const contents = new Map<string, string>();
    for (const ref of unique as ContentRef[]) {
      const bytes = found.get(ref);
      if (bytes === undefined) throw new ContentMissingError(ref, this.name);
      contents.set(ref, verifiedContent(bytes, ref, this.name));
    }
    return refs.map((ref) => contents.get(ref) as string);
  }

  async has(ref: string): Promise<boolean> {
    const checked = requireContentRef(ref);
    const rows = await this.query(
      `SELECT 1 FROM ${CONTENT_TABLE} WHERE ref = $1`,
      [checked],
      `could not look up content ${checked}`,
    );
    return rows.length > 0;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (!this.pool.ended && !this.pool.ending) await this.pool.end();
  }

  private async query<Row>(sql: string, values: unknown[], failure: string): Promise<Row[]> {
    try {
      await (this.schema ??= this.createSchema());
      return (await this.pool.query(sql, values)).rows as Row[];
    } catch (error) {
      throw this.unavailable(failure, error);
    }
  }

  private async createSchema(): Promise<void> {
    try {
      await this.pool.query(
        `CREATE TABLE IF NOT EXISTS ${CONTENT_TABLE} (
           ref text PRIMARY KEY,
           content bytea NOT NULL,
           bytes integer NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    } catch (error) {
      // Two processes creating the table at once: the loser sees a duplicate, and the table is there.
      if (!['23505', '42P07'].includes(codeOf(error) ?? '')) {
        this.schema = undefined;
        throw error;
      }
    }
  }

  private unavailable(failure: string, error: unknown): unknown {
    if (error instanceof StoreUnavailableError) return error;
    const code = codeOf(error);
    const detail = this.withoutSecrets(error instanceof Error ? error.message : String(error));
    // The driver's error is not kept as the cause: it may hold connection parameters.
    return new StoreUnavailableError(
      `${failure} in ${this.name}: ${detail}${code ? ` (${code})` : ''}`,
      this.name,
      code,
    );
  }

  private withoutSecrets(text: string): string {
    return this.secrets.reduce((result, secret) => result.split(secret).join('[redacted]'), text);
  }
}

function parseUrl(value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !['postgres:', 'postgresql:'].includes(url.protocol)) {
    // The value is not quoted: it is a secret.
    throw new ConfigError(["the content store's PostgreSQL URL is not a postgres:// URL"]);
  }
  return url;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
