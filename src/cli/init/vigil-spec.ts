/**
 * What a new app's package.json depends on for vigil. Until Vigil is on a registry, an app installs the packed
 * tarball, so `vigil init` has to name it: from `--vigil`, else from the tarball `npm exec --package` ran this
 * command from, else the running version as a range (what a published package would use).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export interface SpecSources {
  /** `--vigil <spec>`: a version or range, a tarball path, a URL, or any other npm spec. */
  option?: string;
  /** The environment `npm exec` sets: `npm_command=exec` and `npm_config_package`, the packages it installed. */
  env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths are resolved: the folder the command ran in. */
  cwd: string;
  /** The running Vigil's version. */
  version: string;
}

export interface ResolvedSpec {
  spec: string;
  /** Said to the user, so a surprising choice is seen at once. */
  from: 'option' | 'npm exec' | 'version';
}

/** npm's own ways of naming a package that are not paths. */
const NOT_A_PATH = /^(?:[a-z][a-z0-9+.-]*:|@?[a-z0-9][\w.-]*@)/i;

export function resolveVigilSpec(sources: SpecSources): ResolvedSpec {
  if (sources.option !== undefined) return { spec: asSpec(sources.option, sources.cwd), from: 'option' };
  if (sources.env.npm_command === 'exec') {
    // One package per line when several were given; the one that is a Vigil tarball is ours.
    const packages = (sources.env.npm_config_package ?? '').split(/\n+/).map((p) => p.trim());
    const tarball = packages.find((p) => /(^|[/\\])vigil-[^/\\]*\.tgz$/.test(p));
    if (tarball) return { spec: asSpec(tarball, sources.cwd), from: 'npm exec' };
  }
  return { spec: `^${sources.version}`, from: 'version' };
}

/** A path (to a tarball or a folder) becomes `file:` its absolute path, so the app installs it from anywhere. */
function asSpec(value: string, cwd: string): string {
  const looksLikePath = value.startsWith('.') || isAbsolute(value) || value.endsWith('.tgz');
  if (!NOT_A_PATH.test(value) && (looksLikePath || existsSync(resolve(cwd, value)))) {
    return `file:${resolve(cwd, value)}`;
  }
  return value;
}
