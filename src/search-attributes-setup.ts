/**
 * Registers Vigil's search attributes in a namespace. A conversation that upserts an attribute the namespace
 * lacks has its workflow task refused, so every way Vigil starts a Temporal (tests, `vigil dev`) registers
 * them first, and the worker checks them before it polls.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ConfigError } from './errors';
import { VIGIL_SEARCH_ATTRIBUTES } from './search-attributes';

const IVT = temporal.api.enums.v1.IndexedValueType;
const TYPES: Record<string, number> = {
  Keyword: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  Text: IVT.INDEXED_VALUE_TYPE_TEXT,
  Int: IVT.INDEXED_VALUE_TYPE_INT,
  Double: IVT.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IVT.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IVT.INDEXED_VALUE_TYPE_DATETIME,
};

/** Adds the attributes the namespace does not have yet; those it has with the right type are left alone. */
export async function registerVigilSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const missing = await listMissingSearchAttributes(connection, namespace);
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, TYPES[VIGIL_SEARCH_ATTRIBUTES[name]]])),
  });
}

/** Throws a ConfigError naming each attribute that is missing, with the command that registers it. */
export async function checkVigilSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const missing = await listMissingSearchAttributes(connection, namespace);
  if (missing.length === 0) return;
  throw new ConfigError(
    missing.map(
      (name) =>
        `search attribute ${name} is not registered in namespace ${namespace}: ` +
        `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${VIGIL_SEARCH_ATTRIBUTES[name]}`,
    ),
  );
}

/** Vigil's attributes the namespace lacks (or has with another type). */
export async function listMissingSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<(keyof typeof VIGIL_SEARCH_ATTRIBUTES)[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const present = { ...(listed.customAttributes ?? {}) };
  return (Object.keys(VIGIL_SEARCH_ATTRIBUTES) as (keyof typeof VIGIL_SEARCH_ATTRIBUTES)[]).filter(
    (name) => present[name] !== TYPES[VIGIL_SEARCH_ATTRIBUTES[name]],
  );
}
