/** Parsers for option values; commander reports their InvalidArgumentError as a usage error (exit 2). */
import { InvalidArgumentError } from 'commander';

/** A TCP port: 0 to 65535, where 0 asks for a free one. */
export function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535))
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free port)');
  return port;
}

export function parsePositiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError('must be a number greater than 0');
  }
  return number;
}

/** A conversation's turn number: a whole number from 1. */
export function parseTurnNumber(value: string): number {
  const turn = /^\d{1,9}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(turn >= 1)) throw new InvalidArgumentError('must be a turn number, a whole number from 1');
  return turn;
}
