// A worker that decodes one-block .xz streams (web/xz-blocks.ts) for the bake worker, so
// a multi-block kernel package decompresses on two cores.
import { xzWhole } from './xz.js';

self.onmessage = async (ev: MessageEvent<{ id: number; stream: Uint8Array }>) => {
  const { id, stream } = ev.data;
  try {
    const out = await xzWhole(stream, 1 << 30);
    (self as unknown as Worker).postMessage({ id, out }, [out.buffer]);
  } catch (e) {
    (self as unknown as Worker).postMessage({ id, error: (e as Error).message });
  }
};
