/** Writes the app `vigil init` makes into a folder that is new or empty; never over anything already there. */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../exit-codes';
import type { AppFiles } from './app-files';

export function writeApp(dir: string, files: AppFiles): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} exists and is not a folder`);
    const present = readdirSync(dir).filter((name) => name !== '.git');
    if (present.length > 0) {
      throw new UsageError(
        `${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}); choose a new or empty folder`,
      );
    }
  }
  for (const [path, contents] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, contents, { flag: 'wx' });
  }
}
