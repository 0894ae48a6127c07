// Replacing an existing output by exchanging names (host/replace-file.ts): the swap itself,
// the directory put at the target in a race, and writeOutput's whole replacement (the old
// file unlinked, nothing left beside the output), with and without the exchange.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { EXCHANGE_MIN_BYTES, dropCachedPages, exchangeNames, replaceByExchange } from '../../src/host/replace-file.js';
import { writeOutput } from '../../src/host/output-file.js';
import { OutputError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = path.join(work, `case${n++}`);
  fs.mkdirSync(d);
  return d;
};

describe('exchanging names', () => {
  it('swaps two files in one step', () => {
    const d = fresh();
    fs.writeFileSync(path.join(d, 'a'), 'first');
    fs.writeFileSync(path.join(d, 'b'), 'second');
    const inoA = fs.statSync(path.join(d, 'a')).ino;
    expect(exchangeNames(path.join(d, 'a'), path.join(d, 'b'))).toBe(true);
    expect(fs.readFileSync(path.join(d, 'a'), 'utf8')).toBe('second');
    expect(fs.readFileSync(path.join(d, 'b'), 'utf8')).toBe('first');
    expect(fs.statSync(path.join(d, 'b')).ino).toBe(inoA);
  });

  it('answers false, changing nothing, when a name is missing', () => {
    const d = fresh();
    fs.writeFileSync(path.join(d, 'a'), 'only');
    expect(exchangeNames(path.join(d, 'a'), path.join(d, 'absent'))).toBe(false);
    expect(fs.readdirSync(d)).toEqual(['a']);
  });

  it('replaceByExchange unlinks the old file; a directory at the target is swapped back', () => {
    const d = fresh();
    const [tmp, out] = [path.join(d, '.tmp'), path.join(d, 'out')];
    fs.writeFileSync(tmp, 'new');
    fs.writeFileSync(out, 'old');
    const held = fs.openSync(out, 'r');
    expect(replaceByExchange(tmp, out)).toBe(true);
    expect(fs.readFileSync(out, 'utf8')).toBe('new');
    expect(fs.fstatSync(held).nlink).toBe(0);
    expect(fs.readFileSync(held, 'utf8')).toBe('old');
    fs.closeSync(held);
    expect(fs.readdirSync(d)).toEqual(['out']);

    fs.rmSync(out);
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep'), 'mine');
    fs.writeFileSync(tmp, 'new');
    expect(replaceByExchange(tmp, out)).toBe('directory');
    expect(fs.readFileSync(path.join(out, 'keep'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(tmp, 'utf8')).toBe('new');
  });

  it('CAKE_IMG_NO_EXCHANGE turns it off', () => {
    const d = fresh();
    fs.writeFileSync(path.join(d, 'a'), '1');
    fs.writeFileSync(path.join(d, 'b'), '2');
    process.env.CAKE_IMG_NO_EXCHANGE = '1';
    try {
      expect(exchangeNames(path.join(d, 'a'), path.join(d, 'b'))).toBe(false);
    } finally {
      delete process.env.CAKE_IMG_NO_EXCHANGE;
    }
    expect(fs.readFileSync(path.join(d, 'a'), 'utf8')).toBe('1');
  });
});

describe('dropping an old output from the page cache', () => {
  // fincore (util-linux) counts a file's pages in the page cache.
  const cachedPages = (f: string) => Number(spawnSync('fincore', ['-nbo', 'PAGES', f], { encoding: 'utf8' }).stdout.trim());

  it('leaves the file as it was and none of its pages cached', async () => {
    const d = fresh();
    const f = path.join(d, 'old.img');
    const bytes = Buffer.alloc(8 << 20, 0x33);
    fs.writeFileSync(f, bytes);
    const fd = fs.openSync(f, 'r');
    fs.fsyncSync(fd); // clean pages: what DONTNEED drops
    fs.closeSync(fd);
    fs.readFileSync(f);
    expect(cachedPages(f)).toBeGreaterThan(0);
    const child = dropCachedPages(f)!;
    expect(child).not.toBeNull();
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(cachedPages(f)).toBe(0);
    expect(fs.readFileSync(f).equals(bytes)).toBe(true);
  });

  it('a fifo put at the target does not hang it; a link is not followed', async () => {
    const d = fresh();
    const fifo = path.join(d, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const c1 = dropCachedPages(fifo)!;
    await new Promise((resolve) => c1.once('exit', resolve));
    fs.symlinkSync('/etc/hostname', path.join(d, 'link'));
    const c2 = dropCachedPages(path.join(d, 'link'))!;
    expect(await new Promise((resolve) => c2.once('exit', resolve))).toBe(1);
  });
});

describe('writeOutput over an existing output', () => {
  const big = Buffer.alloc(EXCHANGE_MIN_BYTES + (1 << 20), 0x5a);
  for (const exchange of [true, false]) {
    it(`replaces it whole and leaves nothing beside it (${exchange ? 'names exchanged' : 'plain rename'})`, async () => {
      const d = fresh();
      const out = path.join(d, 'disk.img');
      fs.writeFileSync(out, 'the old image');
      const held = fs.openSync(out, 'r');
      if (!exchange) process.env.CAKE_IMG_NO_EXCHANGE = '1';
      try {
        await writeOutput(out, { option: '-o' }, async (o) => void fs.writeSync(o.fd, big));
      } finally {
        delete process.env.CAKE_IMG_NO_EXCHANGE;
      }
      expect(fs.readFileSync(out).equals(big)).toBe(true);
      expect(fs.fstatSync(held).nlink, 'the old image is unlinked, not kept under another name').toBe(0);
      fs.closeSync(held);
      expect(fs.readdirSync(d)).toEqual(['disk.img']);
    });
  }

  it('a failed write leaves the existing output as it was', async () => {
    const d = fresh();
    const out = path.join(d, 'disk.img');
    fs.writeFileSync(out, 'the old image');
    await expect(writeOutput(out, { option: '-o' }, async (o) => {
      fs.writeSync(o.fd, big);
      throw new OutputError(out, 'a fault');
    })).rejects.toThrow(/a fault/);
    expect(fs.readFileSync(out, 'utf8')).toBe('the old image');
    expect(fs.readdirSync(d)).toEqual(['disk.img']);
  });
});
