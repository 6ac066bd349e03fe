/**
 * An exclusive lock on a folder that one process at a time may write (a training run): the file
 * `.NAME.lock` beside the folder, made with O_EXCL and holding the owner's pid, host, start time and
 * task. Two `hyperseg train` processes on one run folder (two terminals, a re-run while the first still
 * trains, a scheduler starting a job twice) interleaved their checkpoints, state and metrics; the
 * second one is now refused, naming the first. A lock whose process is gone (killed with SIGKILL, a
 * crash) is taken over; one held on another host (a shared filesystem) is refused with the way out.
 */

import { rmSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { HypersegError } from '../errors.js';
import { processAlive } from './atomic.js';

interface Owner {
  pid: number;
  host: string;
  since: string;
  task: string;
}

/** The lock file of `folder`: `.NAME.lock` in its parent (the folder itself may not exist yet, or be replaced). */
export function lockPathOf(folder: string): string {
  return join(dirname(folder), `.${basename(folder)}.lock`);
}

const held = new Set<string>();
let exitHook = false;

function ownerOf(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return Number.isInteger(o.pid) && typeof o.host === 'string' ? { pid: o.pid!, host: o.host, since: String(o.since), task: String(o.task) } : null;
  } catch {
    return null;
  }
}

/**
 * Locks `folder` for `task` (words for the message another process gets, e.g. 'training'); resolves to
 * the function that releases it. The lock is also removed if the process exits without releasing it
 * (a Ctrl-C with no handler of its own). A parent folder that cannot be written gives no lock (nothing
 * can be written beside the folder, and the task fails on its own writes if the folder cannot either).
 */
export async function lockFolder(folder: string, task: string): Promise<() => Promise<void>> {
  const path = lockPathOf(folder);
  const host = hostname();
  await mkdir(dirname(path), { recursive: true }).catch(() => undefined);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify({ pid: process.pid, host, since: new Date().toISOString(), task })}\n`);
      } finally {
        await fh.close();
      }
      held.add(path);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => {
          for (const p of held) rmSync(p, { force: true });
        });
      }
      return async () => {
        if (held.delete(path)) await rm(path, { force: true });
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return async () => undefined;
      if (code !== 'EEXIST') throw new HypersegError('IO', `cannot lock ${folder} (${path}): ${(e as Error).message}`, { cause: e });
    }
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) continue; // removed in between: try again
    const owner = ownerOf(text);
    if (owner === null) {
      // a lock being written this instant reads empty; one left torn by a crash is old
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => Infinity);
      if (age < 10_000) throw new HypersegError('IO', `${folder} is being locked by another process now (${path})`, { suggestion: 'wait for it, or choose another folder' });
    } else if (owner.host !== host) {
      throw new HypersegError('IO', `${folder} is in use: ${owner.task} by process ${owner.pid} on ${owner.host} since ${owner.since} (${path})`, {
        suggestion: `if that process is gone, remove ${path}; else wait for it or choose another folder`,
      });
    } else if (processAlive(owner.pid)) {
      throw new HypersegError('IO', `${folder} is in use: ${owner.task} by process ${owner.pid}${owner.pid === process.pid ? ' (this one)' : ''} since ${owner.since}; two at once would overwrite each other's files`, {
        suggestion: 'wait for it to finish, stop it, or choose another folder',
      });
    }
    // its process is gone (SIGKILL, a crash) or the file is torn: taken over
    await rm(path, { force: true });
  }
  throw new HypersegError('IO', `cannot lock ${folder}: ${path} keeps coming back (other processes are starting on it)`);
}
