/** Atomic file output: write to a temporary sibling, then rename, so no reader sees a partial file. */

import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HypersegError } from '../errors.js';

/** Writes bytes to a temporary sibling of `path`, then renames it over `path`. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  track(tmp, null);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new HypersegError('IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    staging.delete(tmp);
  }
}

/** Refuses an output folder path that exists as something else (a file): mkdir's raw EEXIST/ENOTDIR said less. */
export function assertFolderTarget(path: string, flag = '--out'): void {
  if (existsSync(path) && !statSync(path).isDirectory()) throw new HypersegError('INVALID_ARGUMENT', `${flag} ${path} is a file, not a folder`);
}

/**
 * The entries of the folder `out` when it holds something and none of `markers` (paths relative to it that
 * mark a folder a command made and may continue or replace), else null: `out` is new, empty or the command's
 * own. A file is refused (assertFolderTarget). Callers say, in their own words, what the folder is not.
 */
export async function foreignFolderEntries(out: string, markers: readonly string[]): Promise<string[] | null> {
  assertFolderTarget(out);
  if (!existsSync(out)) return null;
  const entries = await readdir(out);
  return entries.length === 0 || markers.some((m) => existsSync(join(out, m))) ? null : entries;
}

/**
 * Temporary files and staging folders being written now (a folder with its target and the name the target's
 * old contents take during the swap). On process.exit (cli/signals.ts: a Ctrl-C during a command with no
 * handler of its own) each is undone: a swap stopped half-way puts the old folder back, and the temporary
 * paths are removed, so an interrupted command leaves its outputs as they were and no litter.
 */
const staging = new Map<string, { target: string; old: string } | null>();
let exitHook = false;

function track(tmp: string, swap: { target: string; old: string } | null): void {
  staging.set(tmp, swap);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const [path, swap] of staging) {
      try {
        if (swap && !existsSync(swap.target) && existsSync(swap.old)) renameSync(swap.old, swap.target);
        rmSync(path, { recursive: true, force: true });
        if (swap) rmSync(swap.old, { recursive: true, force: true });
      } catch {
        // best effort at exit: removeStaleStaging clears what is left on the next run
      }
    }
  });
}

/**
 * Creates the folder `out` through a temporary sibling: `build` fills it, and it is renamed into place
 * (replacing what `out` held, whole) only when `build` returns. A failure or an interruption leaves `out`
 * as it was and removes the temporary folder. Callers decide first whether `out` may be replaced.
 */
export async function buildDirAtomically<T>(out: string, build: (dir: string) => Promise<T>, options: { onFailure?: (dir: string) => Promise<void> } = {}): Promise<T> {
  const target = resolve(out);
  assertFolderTarget(target);
  await mkdir(dirname(target), { recursive: true });
  await removeStaleStaging(target);
  const tmp = join(dirname(target), `.${basename(target)}.partial-${process.pid}-${randomBytes(3).toString('hex')}`);
  const old = `${tmp}.old`;
  await mkdir(tmp, { recursive: true });
  track(tmp, { target, old });
  try {
    const result = await build(tmp);
    if (existsSync(target)) {
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    return result;
  } catch (e) {
    if (!existsSync(target) && existsSync(old)) await rename(old, target).catch(() => undefined); // the swap failed half-way: put it back
    // a failure or an interruption may keep the finished part (segment: its volumes, for the next run); out is untouched either way
    if (options.onFailure && existsSync(tmp)) await options.onFailure(tmp).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    staging.delete(tmp);
  }
}

/** Whether a process id of this host is alive (signal 0 tests without signalling; EPERM: alive, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes staging folders of `target` left by processes that no longer run (killed, or quit by a second
 * Ctrl-C, before they could clean up); a live process's are left alone.
 */
async function removeStaleStaging(target: string): Promise<void> {
  const prefix = `.${basename(target)}.partial-`;
  for (const name of await readdir(dirname(target))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) await rm(join(dirname(target), name), { recursive: true, force: true });
  }
}
