// How emitters get file bytes without the tree holding them: the interface every source
// implements and every emitter reads through. Part of the IR (a FileNode's content is a
// ContentRef into one of these); the implementations live in io/ and the sources.
import type { ContentRef } from './node.js';

/**
 * Receives a file's data in order. The chunk is only valid during the call (sources
 * reuse buffers); copy what you keep. May return a promise to apply back-pressure.
 */
export type ChunkSink = (chunk: Uint8Array) => void | Promise<void>;

export interface ContentSource {
  /**
   * Streams the data of the file behind `ref`: its data runs concatenated (the whole file
   * when it has no holes), exactly dataLength(node) bytes. Within one pass, callers ask
   * in ascending `ref.order`; streaming sources may rely on that and never seek back.
   */
  read(ref: ContentRef, sink: ChunkSink): Promise<void>;
  /**
   * Optional hint: the refs that will be read, in the order they will be read. Sources
   * that can read ahead (a directory, where each file is a separate open and read) use it
   * to keep a few reads in flight while the caller writes.
   */
  plan?(refs: readonly ContentRef[]): void;
  /**
   * The host file behind a ref, for devices that copy file data without passing it
   * through JavaScript (host backends only; null: this ref is not a host file).
   */
  hostPath?(ref: ContentRef): Uint8Array | null;
  /** Releases files or streams held open. */
  close(): Promise<void>;
}
