// How emitters get file bytes without the tree holding them.
import type { ContentRef } from '../tree/node.js';

export type { ChunkSink, ContentSource } from '../tree/content.js';
import type { ChunkSink, ContentSource } from '../tree/content.js';

/** Content held in memory: for small generated files (configs, init scripts) and tests. */
export class BytesContent implements ContentSource {
  private readonly data: Uint8Array[] = [];
  private readonly refs = new Set<ContentRef>();

  /** `orderBase` places these contents after another source's in a combined order. */
  constructor(private readonly orderBase = 0) {}

  /** Registers bytes and returns the ref to put in a FileNode. */
  add(bytes: Uint8Array): ContentRef {
    this.data.push(bytes);
    const ref = { order: this.orderBase + this.data.length - 1, handle: this.data.length - 1 };
    this.refs.add(ref);
    return ref;
  }

  owns(ref: ContentRef): boolean {
    return this.refs.has(ref);
  }

  /** Replaces a ref's bytes (same length): for content that depends on the plan, like a boot loader patched with its own block list. */
  replace(ref: ContentRef, bytes: Uint8Array): void {
    const i = ref.handle as number;
    if (this.data[i]?.length !== bytes.length) throw new Error(`BytesContent.replace: length ${bytes.length} differs from ${this.data[i]?.length}`);
    this.data[i] = bytes;
  }

  async read(ref: ContentRef, sink: ChunkSink): Promise<void> {
    const bytes = this.data[ref.handle as number];
    if (!bytes) throw new Error(`BytesContent: unknown ref ${String(ref.handle)}`);
    if (bytes.length) await sink(bytes);
  }

  async close(): Promise<void> {}
}

/**
 * A base source plus in-memory files added on top (a bake's /boot), routed by ref. The
 * extra files are ordered after everything in the base.
 */
export class OverlayContent implements ContentSource {
  readonly extra = new BytesContent(2 ** 50);
  constructor(private readonly base: ContentSource) {}

  read(ref: ContentRef, sink: ChunkSink): Promise<void> {
    return this.extra.owns(ref) ? this.extra.read(ref, sink) : this.base.read(ref, sink);
  }

  plan(refs: readonly ContentRef[]): void {
    this.base.plan?.(refs.filter((r) => !this.extra.owns(r)));
  }

  /** The base's host files (a device copies them itself); the extra files are in memory. */
  hostPath(ref: ContentRef): Uint8Array | null {
    return this.extra.owns(ref) ? null : (this.base.hostPath?.(ref) ?? null);
  }

  async close(): Promise<void> {
    await this.base.close();
  }
}

/**
 * Several sources behind one: refs are wrapped with the index of the source that made them.
 * Order is (source index, inner order), so a tree merged from sources keeps each stream sequential.
 */
export class MultiContent implements ContentSource {
  private readonly sources: ContentSource[] = [];

  register(source: ContentSource): (ref: ContentRef) => ContentRef {
    const index = this.sources.length;
    this.sources.push(source);
    const base = index * 2 ** 40;
    return (ref) => ({ order: base + ref.order, handle: { index, ref } });
  }

  read(ref: ContentRef, sink: ChunkSink): Promise<void> {
    const h = ref.handle as { index: number; ref: ContentRef };
    return this.sources[h.index]!.read(h.ref, sink);
  }

  plan(refs: readonly ContentRef[]): void {
    this.sources.forEach((s, index) => s.plan?.(refs.map((r) => r.handle as { index: number; ref: ContentRef }).filter((h) => h.index === index).map((h) => h.ref)));
  }

  async close(): Promise<void> {
    for (const s of this.sources) await s.close();
  }
}
