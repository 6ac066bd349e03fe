/**
 * The one place that turns errors into output and exit codes. Commands call library functions;
 * library code throws HypersegError and never exits. Exit codes: 0 ok, 1 failure (bad file, bad
 * data, I/O), 2 bad usage (invalid flags or arguments), 130 stopped by Ctrl-C (re-run to continue).
 */

import { type Command, InvalidArgumentError } from 'commander';
import { readJsonFile } from '../data/json.js';
import { HypersegError } from '../errors.js';
import { type ImageRead, normaliseRead } from '../pipeline/inputs.js';

export interface GlobalFlags {
  json?: boolean;
  verbose?: boolean;
}

/** Prints an error (message, suggestion; the stack only with --verbose) and sets the exit code. */
export function report(e: unknown, flags: GlobalFlags): void {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = e instanceof HypersegError ? e.code : 'INTERNAL';
  const usage = code === 'INVALID_ARGUMENT';
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message: err.message, suggestion: (e as HypersegError).suggestion } })}\n`);
  }
  if (code === 'INTERRUPTED') process.stderr.write(`hyperseg: stopped: ${err.message}\n`);
  else process.stderr.write(`hyperseg: error${code === 'INTERNAL' ? '' : ` [${code}]`}: ${err.message}\n`);
  if (e instanceof HypersegError && e.suggestion) process.stderr.write(`  hint: ${e.suggestion}\n`);
  if (flags.verbose && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = code === 'INTERRUPTED' ? 130 : usage ? 2 : 1;
}

/** Wraps a command action so that any throw goes through `report`. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a) => a !== null && typeof a === 'object' && !Array.isArray(a)) as GlobalFlags | undefined;
    try {
      await fn(...args);
    } catch (e) {
      report(e, opts ?? {});
    }
  };
}

/**
 * Ctrl-C (or SIGTERM) asks long work to stop after its current step: `signal` aborts and the caller
 * writes a checkpoint; a second Ctrl-C quits at once (every file is written atomically). `hint`
 * tells the user how to continue.
 */
export function interruptible(hint: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let n = 0;
  const on = () => {
    n++;
    if (n > 1) process.exit(130);
    process.stderr.write(`\nhyperseg: stopping after the current step; ${hint} (Ctrl-C again to quit at once)…\n`);
    controller.abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** `--non-finite` and `--max-voxels`: how the commands that read image volumes read them. */
export function addReadOptions(cmd: Command): Command {
  return cmd
    .option('--non-finite <how>', 'NaN/Inf image voxels: error (default) | zero (read as 0)', parseChoice('--non-finite', ['error', 'zero'] as const))
    .option('--max-voxels <n>', 'refuse volumes with more voxels than this (default 2^30)', parseIntOption('--max-voxels', 1));
}

export interface ReadFlags {
  nonFinite?: 'error' | 'zero';
  maxVoxels?: number;
}

/**
 * The read options the flags ask for, in the library's one normal form (defaults dropped); undefined only
 * when neither flag is given, so that `train --resume --non-finite error` on a run recorded with `zero`
 * is compared (and refused) rather than taken for "no flag".
 */
export function readOptionsOf(flags: ReadFlags): ImageRead | undefined {
  return flags.nonFinite === undefined && flags.maxVoxels === undefined ? undefined : normaliseRead(flags);
}

/** JSON with NaN and ±Infinity written as null (JSON cannot hold them; a status field says why). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

// Option parsers: reject bad values before any work, with commander's usage error (exit code 1 from
// commander is replaced by ours in main.ts).

export function parseIntOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const v = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got '${value}'.`);
    }
    return v;
  };
}

export function parseFloatOption(name: string, min: number, exclusiveMin = false) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || v < min || (exclusiveMin && v === min)) {
      throw new InvalidArgumentError(`${name} must be a finite number ${exclusiveMin ? '>' : '≥'} ${min}, got '${value}'.`);
    }
    return v;
  };
}

export function parseIntList(name: string) {
  return (value: string): number[] => {
    const parts = value.split(',').map((s) => s.trim());
    if (parts.length === 0 || parts.some((p) => !/^[+-]?\d+$/.test(p))) {
      throw new InvalidArgumentError(`${name} must be a comma-separated list of integers, got '${value}'.`);
    }
    const list = parts.map(Number);
    if (new Set(list).size !== list.length) throw new InvalidArgumentError(`${name} lists a value twice: '${value}'.`);
    return list;
  };
}

/** `a,b`: two positive numbers with a < b (a half-open range such as patch sides). */
export function parseRange(name: string) {
  return (value: string): [number, number] => {
    const parts = value.split(',').map((t) => t.trim());
    const v = parts.map(Number);
    if (parts.length !== 2 || parts.some((t) => t === '') || !v.every((x) => Number.isFinite(x) && x > 0) || !(v[0] < v[1])) {
      throw new InvalidArgumentError(`${name} takes two positive numbers min,max with min < max, got '${value}'.`);
    }
    return [v[0], v[1]];
  };
}

/** `--intensity-jitter gain,offset`: 0 ≤ gain < 1, offset ≥ 0. */
export function parseJitter(name: string) {
  return (value: string): [number, number] => {
    const parts = value.split(',').map((t) => t.trim());
    const v = parts.map(Number);
    if (parts.length !== 2 || parts.some((t) => t === '') || !v.every((x) => Number.isFinite(x) && x >= 0) || !(v[0] < 1)) {
      throw new InvalidArgumentError(`${name} takes gain,offset with 0 ≤ gain < 1 and offset ≥ 0, got '${value}'.`);
    }
    return [v[0], v[1]];
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got '${value}'.`);
    }
    return value as T;
  };
}

/**
 * A --config argument: inline JSON (it starts with "{") or the path of a JSON file. Either way the
 * result must be a JSON object; the error names which form was read.
 */
export async function readConfigArg(arg: string, what = 'the model configuration'): Promise<Record<string, unknown>> {
  const inline = arg.trimStart().startsWith('{');
  let value: unknown;
  if (inline) {
    try {
      value = JSON.parse(arg);
    } catch (e) {
      throw new HypersegError('INVALID_ARGUMENT', `--config: ${what} given inline is not valid JSON (${(e as Error).message})`, { suggestion: 'quote it for the shell, e.g. --config \'{"latent_dim": 4}\', or give a file' });
    }
  } else {
    value = await readJsonFile<unknown>(arg, what);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HypersegError(inline ? 'INVALID_ARGUMENT' : 'FILE_FORMAT', `${inline ? '--config' : arg}: ${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
