// The recipe builders: what each source helper means, and the checks they make up front.
import { describe, expect, it } from 'vitest';
import { bake, cook, debianPackage, kernelFromDebian, pull, source, tarball } from '../../src/recipe/spec.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('recipe builders', () => {
  it('sources: deb:NAME and registry refs are not paths; everything else is, relative to the recipe', () => {
    expect(debianPackage('busybox-static')).toEqual({ kind: 'source', ref: 'deb:busybox-static', isPath: false });
    expect(source(`registry.example/alpine@${D}`).isPath).toBe(false);
    expect(source(`127.0.0.1:5000/x/y@${D}`).isPath).toBe(false);
    expect(source(`localhost/x@${D}`).isPath).toBe(false);
    expect(source(`./images/x@${D}`).isPath).toBe(true);
    expect(tarball('rootfs.tar.gz')).toEqual({ kind: 'source', ref: 'rootfs.tar.gz', isPath: true });
  });

  it('pull() is a cook of the pinned image, its sha256 the pinned tree hash', () => {
    const p = pull({ imageName: 'registry.example/library/alpine:3.12', imageDigest: D, sha256: `sha256:${'cd'.repeat(32)}` });
    expect(p).toMatchObject({ kind: 'cook', name: 'alpine', src: { ref: `registry.example/library/alpine@${D}`, isPath: false }, sha256: `sha256:${'cd'.repeat(32)}` });
    expect(() => pull({ imageName: 'x/y', imageDigest: 'latest' })).toThrow(/imageDigest must be sha256/);
  });

  it('a cooked tree is the input of another cook and of a bake; strings become sources and kernel paths', () => {
    const base = cook({ src: 'rootfs.tar' });
    const next = cook({ src: base, script: 'true' });
    const disk = bake({ image: next, kernel: 'vmlinuz' });
    expect(next.src).toBe(base);
    expect(disk.image).toBe(next);
    expect(disk.kernel).toEqual({ kind: 'kernel', path: 'vmlinuz' });
    expect(bake({ image: base, kernel: kernelFromDebian() }).kernel).toEqual({ kind: 'kernel', debian: 'linux-image-amd64' });
    expect(Object.isFrozen(disk)).toBe(true);
    expect(() => bake({ image: base } as never)).toThrow(/kernel is required/);
    expect(() => cook({} as never)).toThrow(/src is required/);
  });
});
