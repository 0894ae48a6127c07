// A small but real container image for cook tests, made from Debian's busybox-static:
// three layers (gzip, plain, gzip) with a whiteout, an opaque directory, a cross-layer
// hard link, a setuid file, a device node and a file owned by 1000:1000; written as a
// `docker save` archive and as an OCI image layout directory.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { imageConfig } from './image-config.js';
import { testPackage } from './debian.js';
import { packTar, type TarEntry } from './tar-pack.js';


const APPLETS = ['sh', 'ls', 'cat', 'echo', 'rm', 'sed', 'mkdir', 'chmod', 'id', 'grep', 'touch', 'chown', 'ln', 'mv', 'cp', 'true', 'false', 'printf', 'test', 'stat'];

export async function busyboxLayers(): Promise<Buffer[]> {
  const busybox = fs.readFileSync(path.join(await testPackage('busybox-static'), 'bin/busybox'));
  const layer1: TarEntry[] = [
    { name: 'bin/' },
    { name: 'bin/busybox', body: busybox, mode: 0o755 },
    ...APPLETS.map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { name: 'usr/' },
    { name: 'usr/bin/' },
    { name: 'usr/bin/env', type: 'symlink', linkname: '/bin/busybox' },
    { name: 'etc/' },
    { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' },
    { name: 'etc/group', body: 'root:x:0:\nuser:x:1000:\n' },
    { name: 'etc/shadow', body: 'root::19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\n', mode: 0o640, gid: 42 },
    { name: 'etc/profile', body: 'export PATH=/bin:/usr/bin\n' },
    { name: 'etc/obsolete', body: 'to be deleted by a whiteout\n' },
    { name: 'dev/' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'home/' },
    { name: 'home/user/', uid: 1000, gid: 1000, mode: 0o750 },
    { name: 'home/user/notes', body: 'mine\n', uid: 1000, gid: 1000, mode: 0o600 },
    { name: 'opt/' },
    { name: 'opt/cache/' },
    { name: 'opt/cache/stale', body: 'hidden by an opaque directory\n' },
    { name: 'tmp/', mode: 0o1777 },
    { name: 'root/', mode: 0o700 },
  ];
  const layer2: TarEntry[] = [
    { name: 'etc/' },
    { name: 'etc/.wh.obsolete', body: '' },
    { name: 'opt/' },
    { name: 'opt/cache/' },
    { name: 'opt/cache/.wh..wh..opq', body: '' },
    { name: 'opt/cache/fresh', body: 'fresh\n' },
    { name: 'usr/' },
    { name: 'usr/bin/' },
    // A hard link to a file of layer 1, made setuid: su is busybox.
    { name: 'usr/bin/su', type: 'link', linkname: 'bin/busybox' },
    { name: 'usr/bin/delete-me', body: 'the script deletes this\n' },
  ];
  const layer3: TarEntry[] = [
    { name: 'etc/' },
    { name: 'etc/hostname', body: 'busybox\n' },
    { name: 'usr/' },
    { name: 'usr/bin/' },
    { name: 'usr/bin/suid-tool', body: '#!/bin/sh\necho setuid\n', mode: 0o4755 },
  ];
  return [gzipSync(await packTar(layer1)), await packTar(layer2), gzipSync(await packTar(layer3))];
}

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

async function writeTarFile(file: string, files: [string, Uint8Array | string][]): Promise<void> {
  const p = tarStream.pack();
  for (const [name, data] of files) p.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, Buffer.from(data));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  fs.writeFileSync(file, Buffer.concat(chunks));
}

function config(layers: Uint8Array[]): string {
  return imageConfig(layers);
}

/** `docker save` layout: manifest.json, the config, one tar per layer. */
export async function busyboxDockerArchive(file: string): Promise<string> {
  const layers = await busyboxLayers();
  const cfg = config(layers);
  const files: [string, Uint8Array | string][] = [[`${sha(cfg)}.json`, cfg]];
  const names = layers.map((l) => `${sha(l)}/layer.tar`);
  layers.forEach((l, i) => files.push([names[i]!, l]));
  files.push(['manifest.json', JSON.stringify([{ Config: `${sha(cfg)}.json`, RepoTags: ['busybox-test:1'], Layers: names }])]);
  await writeTarFile(file, files);
  return file;
}

/** An OCI image layout directory. */
export async function busyboxOciLayout(dir: string): Promise<string> {
  const layers = await busyboxLayers();
  const blobs = path.join(dir, 'blobs/sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Uint8Array | string, mediaType: string): { mediaType: string; digest: string; size: number } => {
    const h = sha(data);
    fs.writeFileSync(path.join(blobs, h), data);
    return { mediaType, digest: `sha256:${h}`, size: Buffer.byteLength(data as string) };
  };
  const cfg = put(config(layers), 'application/vnd.oci.image.config.v1+json');
  const layerDescs = layers.map((l) => put(l, l[0] === 0x1f ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar'));
  const manifest = put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: layerDescs }), 'application/vnd.oci.image.manifest.v1+json');
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'amd64' } }] }));
  return dir;
}
