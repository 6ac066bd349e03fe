/** Folder locks (src/data/lock.ts) with real processes, and `hyperseg train` / `segment` refusing a folder another process writes. */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSynthDataset } from '../../src/data/dataset.js';
import { lockFolder, lockPathOf } from '../../src/data/lock.js';
import { HypersegError } from '../../src/errors.js';
import { hyperseg } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hyperseg-lock-');
const LOCK_JS = fileURLToPath(new URL('../../dist/data/lock.js', import.meta.url));

/** A real process that stays alive until killed; resolves once it runs. */
function sleeper() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  return { pid: child.pid!, kill: async () => { child.kill('SIGKILL'); await exited; } };
}

const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as HypersegError);

describe('lockFolder', () => {
  it('one holder at a time: a second lock is refused, naming the first (here this very process); released, it can be taken again', async () => {
    const run = join(dir, 'a');
    const unlock = await lockFolder(run, 'a training');
    const file = lockPathOf(run);
    expect(file).toBe(join(dir, '.a.lock'));
    const owner = JSON.parse(readFileSync(file, 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, host: hostname(), task: 'a training' });
    expect(Number.isNaN(Date.parse(owner.since))).toBe(false);
    const err = await refusal(lockFolder(run, 'a training'));
    expect(err?.code).toBe('IO');
    expect(err?.message).toMatch(new RegExp(`a is in use: a training by process ${process.pid} \\(this one\\) since`));
    await unlock();
    expect(existsSync(file)).toBe(false);
    await unlock(); // twice: nothing more
    (await lockFolder(run, 'a training'))();
  });

  it('a lock of a running process is refused; once that process is gone (SIGKILL: it removed nothing) the lock is taken over', async () => {
    const run = join(dir, 'b');
    const other = sleeper();
    writeFileSync(lockPathOf(run), JSON.stringify({ pid: other.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', task: 'a training' }));
    const err = await refusal(lockFolder(run, 'a training'));
    expect(err?.message).toBe(`${run} is in use: a training by process ${other.pid} since 2026-01-01T00:00:00.000Z; two at once would overwrite each other's files`);
    await other.kill();
    const unlock = await lockFolder(run, 'a resumed training');
    expect(JSON.parse(readFileSync(lockPathOf(run), 'utf8')).pid).toBe(process.pid);
    await unlock();
  });

  it('a lock held on another host is refused with the way out; a torn lock is taken over when old, refused while fresh', async () => {
    const run = join(dir, 'c');
    writeFileSync(lockPathOf(run), JSON.stringify({ pid: 1, host: `${hostname()}-elsewhere`, since: 'then', task: 'a training' }));
    const far = await refusal(lockFolder(run, 'a training'));
    expect(far?.message).toMatch(/in use: a training by process 1 on .*-elsewhere since then/);
    expect(far?.suggestion).toBe(`if that process is gone, remove ${lockPathOf(run)}; else wait for it or choose another folder`);
    writeFileSync(lockPathOf(run), '');
    expect((await refusal(lockFolder(run, 'a training')))?.message).toMatch(/is being locked by another process now/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPathOf(run), old, old);
    (await lockFolder(run, 'a training'))();
  });

  it('a process that exits without releasing its lock (no handler ran) leaves none behind', () => {
    const run = join(dir, 'd');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { lockFolder } = await import(${JSON.stringify(LOCK_JS)}); await lockFolder(${JSON.stringify(run)}, 'x'); process.exit(3);`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(readdirSync(dir)).not.toContain('.d.lock');
  });
});

describe('hyperseg train and segment on a folder another process is writing', () => {
  const data = join(dir, 'data');
  beforeAll(async () => {
    await writeSynthDataset({ out: data, count: 4, size: 20, seed: 2 });
  });

  it('is refused before anything is written; once that process is gone the same command trains, and leaves no lock', async () => {
    const run = join(dir, 'run');
    mkdirSync(run);
    const other = sleeper();
    writeFileSync(lockPathOf(run), JSON.stringify({ pid: other.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', task: 'a training' }));
    const args = ['train', '--data', data, '--out', run, '--steps', '2', '--batch', '4', '--threads', '1'];
    const r = hyperseg(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[IO\].*is in use: a training by process \d+ since 2026-01-01T00:00:00.000Z; two at once would overwrite each other's files/);
    expect(r.stderr).toContain(`${run} is in use: a training by process ${other.pid}`);
    expect(readdirSync(run)).toEqual([]);
    await other.kill();
    const ok = hyperseg(...args);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(run, 'model.safetensors'))).toBe(true);
    expect(existsSync(lockPathOf(run))).toBe(false);
  }, 120_000);

  it('hyperseg segment into a folder another process segments is refused before anything is written; afterwards it runs, and leaves no lock', async () => {
    const run = join(dir, 'run'); // trained by the test above
    const seg = join(dir, 'seg');
    const other = sleeper();
    writeFileSync(lockPathOf(seg), JSON.stringify({ pid: other.pid, host: hostname(), since: '2026-01-02T00:00:00.000Z', task: 'a segmentation' }));
    const args = ['segment', '--model', run, '--input', data, '--out', seg, '--split', 'all', '--threads', '1', '--no-pictures'];
    const r = hyperseg(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${seg} is in use: a segmentation by process ${other.pid} since 2026-01-02T00:00:00.000Z`);
    expect(readdirSync(dir).filter((f) => f.startsWith('.seg') || f === 'seg')).toEqual(['.seg.lock']);
    await other.kill();
    const ok = hyperseg(...args);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(seg, 'segment.json'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('.seg'))).toEqual([]);
  }, 120_000);
});
