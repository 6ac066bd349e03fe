/**
 * Loading an N × d embedding matrix from .npy (float32/float64, 2-D) or .csv (one point per line,
 * comma- or whitespace-separated numbers; an optional header line of non-numeric names is skipped).
 */

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { HypersegError } from '../errors.js';
import { readNpy } from './npy.js';

export interface Embeddings {
  data: Float32Array | Float64Array;
  n: number;
  d: number;
}

export async function readEmbeddings(path: string): Promise<Embeddings> {
  const e = await readAny(path);
  // an empty file or array: bad data, named (it reached k-means as "dimension d must be a positive integer", a usage error)
  if (e.n < 1 || e.d < 1) throw new HypersegError('INVALID_INPUT', `${path}: no embeddings to cluster (${e.n} points × ${e.d} dimensions)`);
  return e;
}

async function readAny(path: string): Promise<Embeddings> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    const a = await readNpy(path);
    if (a.dtype !== 'float32' && a.dtype !== 'float64') {
      throw new HypersegError('UNSUPPORTED', `${path}: embeddings must be float32 or float64, got ${a.dtype}`);
    }
    if (a.shape.length !== 2) throw new HypersegError('SHAPE_MISMATCH', `${path}: embeddings must be a 2-D array N × d, got shape (${a.shape.join(', ')})`);
    return { data: a.data as Float32Array | Float64Array, n: a.shape[0], d: a.shape[1] };
  }
  if (ext === '.csv' || ext === '.txt' || ext === '.tsv') return parseCsv(await readText(path), path);
  throw new HypersegError('UNSUPPORTED', `${path}: unknown embeddings format '${ext}'; expected .npy or .csv`);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new HypersegError('FILE_NOT_FOUND', `${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
}

/** Parses CSV text into an N × d float64 matrix; every row must have the same number of values. */
export function parseCsv(text: string, name = 'csv'): Embeddings {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
  const rows: number[][] = [];
  lines.forEach((line, i) => {
    const cells = line.split(/[\s,;]+/).filter((c) => c.length > 0);
    const values = cells.map((c) => (/^[+-]?nan$/i.test(c) ? NaN : Number(c)));
    const bad = cells.findIndex((c, j) => Number.isNaN(values[j]) && !/^[+-]?nan$/i.test(c));
    if (bad >= 0) {
      if (rows.length === 0 && i === 0 && cells.every((c) => Number.isNaN(Number(c)))) return; // header line
      throw new HypersegError('FILE_FORMAT', `${name}: line ${i + 1}: '${cells[bad]}' is not a number`);
    }
    rows.push(values);
  });
  if (rows.length === 0) return { data: new Float64Array(0), n: 0, d: 0 };
  const d = rows[0].length;
  const data = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new HypersegError('SHAPE_MISMATCH', `${name}: row ${i + 1} has ${r.length} values, the first row has ${d}`);
    data.set(r, i * d);
  });
  return { data, n: rows.length, d };
}
