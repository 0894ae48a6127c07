// What used to hang: a registry that accepts the connection and never answers (or stops
// in the middle of a body), and --contents of a device that never ends. Each now ends
// within a bound with one clear line, or (the device) completes, copied as a node.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cakeImg, cakeImgAsync, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { tmpDir } from '../helpers/image.js';
import { hasTool, isRoot } from '../oracles/tools.js';

const work = tmpDir('cake-hangs-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A TCP server on 127.0.0.1 that does what `onConnection` says (nothing, by default). */
async function server(onConnection: (s: net.Socket) => void = () => {}): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}

describe('registries that stop answering', () => {
  // Async: the registry is served from this process, which a blocking spawn would freeze.
  const pull = async (port: number) => {
    const cache = path.join(work, `cache-${port}`);
    fs.mkdirSync(cache, { mode: 0o777 });
    fs.chmodSync(cache, 0o777);
    const t = Date.now();
    // The spawn's own timeout is the "hangs" verdict: far above the 2 s the tool is given.
    const r = await cakeImgAsync(['cook', '--src', `127.0.0.1:${port}/test/img@${DIGEST}`, '--name', 'hang', '-q'], {
      asNobody: canRunAsNobody, env: { XDG_CACHE_HOME: cache, CAKE_IMG_NET_TIMEOUT: '2' }, timeoutMs: 60_000,
    });
    return { r, ms: Date.now() - t };
  };

  it('accepts the connection and never answers: one line naming the request, within the timeout', async () => {
    const s = await server();
    try {
      const { r, ms } = await pull(s.port);
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(new RegExp(`test/img@sha256:(ab){32}: GET http://127\\.0\\.0\\.1:${s.port}/v2/test/img/manifests/${DIGEST}: no answer within 2 s; set CAKE_IMG_NET_TIMEOUT`));
      expect(ms).toBeLessThan(30_000);
    } finally {
      await s.close();
    }
  }, 90_000);

  it('sends headers, then nothing: the body stalls, one line, no partial blob in the cache', async () => {
    const s = await server((sock) => {
      sock.once('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 100000\r\n\r\n{"schemaVersion"'));
    });
    try {
      const { r } = await pull(s.port);
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(/the download stalled \(nothing for 2 s\); set CAKE_IMG_NET_TIMEOUT to wait longer/);
      const blobs = path.join(work, `cache-${s.port}`, 'cake-img/blobs');
      const left = fs.existsSync(blobs) ? execFileSync('find', [blobs, '-type', 'f'], { encoding: 'utf8' }).trim() : '';
      expect(left).toBe('');
    } finally {
      await s.close();
    }
  }, 90_000);
});

describe.skipIf(!hasTool('tar'))('--contents of special files: copied as nodes, never read', () => {
  it.skipIf(!isRoot)('--contents /dev/zero ends, and the tree has the character device 1:5', () => {
    const src = path.join(work, 'base');
    fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(src, 'etc/hostname'), 'x\n');
    execFileSync('chmod', ['-R', 'a+rX', src]);
    const out = path.join(work, 'zero.tar');
    const cache = path.join(work, 'cache-zero');
    const r = cakeImg(['cook', '--src', src, '--contents', '/dev/zero', '--name', 'zero', '-q', '-o', out], {
      asNobody: canRunAsNobody, env: { XDG_CACHE_HOME: cache }, timeoutMs: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const listed = execFileSync('tar', ['--numeric-owner', '-tvf', out], { encoding: 'utf8' });
    expect(listed).toMatch(/^crw-rw-rw- 0\/0 +1,5 .* \.\/dev\/zero$/m);
  }, 90_000);

  it('a file under /proc is refused (its size lies): a usage error, one line', () => {
    const r = cakeImg(["cook", "--src", work, "--contents", "/proc/self/status", "--name", "proc", "-q"], { env: { XDG_CACHE_HOME: path.join(work, "cache-proc") } });
    expect(r.status).toBe(2);
    expect(oneErrorLine(r)).toMatch(/--contents: \/proc\/self\/status is in \/proc, whose files report sizes they do not have/);
  });
});
