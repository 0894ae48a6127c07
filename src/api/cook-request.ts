// What `cook` takes and gives (apart from api/cook.ts so the build steps, cook-build.ts,
// can name it without importing the command).
import type { LayerCompression } from '../cook/oci-image.js';
import type { RemoteCache } from '../host/remote-cache.js';

export interface CookRequest {
  src: string;
  /** Store name (default: from the source's file name). */
  name?: string;
  /** Bootstrap script text, run inside the tree under proot. */
  script?: string;
  /** Host shell commands run in the build directory before / after the script. */
  prepare?: string;
  cleanup?: string;
  /** Host paths copied into the tree at their absolute paths. */
  contents?: string[];
  /** Directories put in front of PATH in /etc/profile. */
  path?: string[];
  /** Expected output hash (sha256:HEX or HEX). */
  sha256?: string;
  rebuild?: boolean;
  explain?: boolean;
  keepFailed?: boolean;
  /** Also write the result here: a directory, a .tar / .tar.gz, or an OCI image (.oci, .oci.tar, .docker.tar). */
  out?: string;
  /** OCI outputs: `NAME[:TAG]` (default the cook's name and `latest`) and the layer's compression (default gzip). */
  tag?: string;
  layerCompression?: LayerCompression;
  platform?: string;
  lenient?: boolean;
  /** SOURCE_DATE_EPOCH: every time in the cooked tree is clamped to it (default: the newest time among the inputs). */
  sourceDateEpoch?: number;
  /** A registry as a shared store (host/remote-cache.ts): pulled before cooking, pushed after. */
  cache?: RemoteCache;
  /** Progress lines (script output, steps). */
  log?: (line: string) => void;
  /** Which step is running, with file and byte counts where there are any. */
  onProgress?: (phase: string, files?: number, bytes?: number) => void;
}

export interface CookResult {
  name: string;
  storePath: string;
  hash: string;
  cached: boolean;
  /** Taken from the registry cache instead of cooked. */
  pulled?: boolean;
  /** Disk usage of the cooked tree (4 KiB blocks). */
  size: number;
  out?: string;
  summary: string[];
  /** Why it was (re)built, or that it was cached (with --explain). */
  explanation?: string;
  warnings: string[];
}
