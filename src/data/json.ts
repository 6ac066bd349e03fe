/** Reading the JSON files hyperseg writes (manifests, run configurations, summaries) with errors that name them. */

import { readFile } from 'node:fs/promises';
import { HypersegError } from '../errors.js';

/**
 * Reads and parses `path`; `what` names the file in errors ("the run configuration"). A missing or
 * unreadable file is FILE_NOT_FOUND (with `suggestion`), bad JSON is FILE_FORMAT. The shape is the caller's to check.
 */
export async function readJsonFile<T>(path: string, what: string, suggestion?: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new HypersegError('FILE_NOT_FOUND', `${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { suggestion });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new HypersegError('FILE_FORMAT', `${path}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** A JSON object (not null, not an array): the first check on a record read with readJsonFile. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
