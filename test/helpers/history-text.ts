/**
 * Everything a workflow history holds as text: each payload's bytes decoded, and every string field. A test that
 * must show that something left no trace (a secret, a refused message's id) searches this.
 */
export function historyText(history: unknown): string {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
    else if (typeof value === 'string') texts.push(value);
  };
  walk(history);
  return texts.join('\n');
}
