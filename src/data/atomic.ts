/** Atomic file output: write to a temporary sibling, then rename, so no reader sees a partial file. */

import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HypersegError } from '../errors.js';

/** Writes bytes to a temporary sibling of `path`, then renames it over `path`. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new HypersegError('IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
