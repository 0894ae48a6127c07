// The pure core of cake-img: formats planned from a tree and written through small
// interfaces (a block device, a source filesystem, a content source), with no Node I/O,
// so it runs in any JavaScript host, a browser included (test/layers/browser-bundle.test.ts
// bundles this file for the browser and fails if a `node:` module is reachable).
//
// Typical use: load a tree (loadDirectory over a SourceFs, loadTar over a byte stream),
// plan (planExt4, planDisk), write (writeExt4, writeDisk) onto a BlockDevice.
export { type BlockDevice, type BulkCopy, type CopyJob, MemoryBlockDevice, subDevice } from './io/block-device.js';
export { BytesContent, MultiContent, OverlayContent } from './io/content-source.js';
export { MemorySourceFs } from './io/memory-source-fs.js';
export { type SourceFs, type SourceStat, joinPath } from './io/source-fs.js';
export type { ChunkSink, ContentSource } from './tree/content.js';
export type { DirNode, FileNode, FsNode, FsTree } from './tree/node.js';
export { TreeBuilder } from './tree/builder.js';
export { type HashFactory, type StreamingHash, hashTree } from './tree/hash.js';

export { type DirectorySourceOptions, type LoadedTree, loadDirectory } from './sources/directory.js';
export { type SpillStore, type TarSourceOptions, loadTar } from './sources/tar.js';

export { DEFAULT_FEATURES, type Ext4Features, type Ext4Options, formatUuid, parseFeatures, parseSize, parseUuid } from './bake/ext4/options.js';
export { type Ext4Plan, maxBytes, planExt4 } from './bake/ext4/planner.js';
export { type WriteOptions, writeExt4 } from './bake/ext4/writer.js';
export { type FatOptions, formatVolumeId, parseVolumeId } from './bake/fat/options.js';
export { type FatPlan, planFat } from './bake/fat/planner.js';
export { type FatWriteOptions, writeFat } from './bake/fat/writer.js';
export { type CpioStats, encodeCpio } from './bake/cpio/encoder.js';
export { type GzipSink, gzipSink } from './bake/cpio/gzip.js';
export { type DiskPlan, type DiskRequest, type SyslinuxPieces, diskWrittenRanges, planDisk, syslinuxConfig, writeDisk } from './bake/disk.js';
export { ext4WrittenRanges } from './bake/ext4/written-ranges.js';
export { type ByteRange, composeRanges, normalizeRanges } from './io/byte-ranges.js';
export { type ImageFormat, detectFormat, formatOfName, outputFormat } from './bake/image-formats/format.js';
export type { ImageReader, ImageSource } from './bake/image-formats/source.js';
export { type Qcow2Layout, planQcow2 } from './bake/image-formats/qcow2/layout.js';
export { Qcow2Device } from './bake/image-formats/qcow2/device.js';
export { writeQcow2Stream } from './bake/image-formats/qcow2/stream-writer.js';
export { type FixedVhd, fixedVhd } from './bake/image-formats/vhd/fixed.js';
export { writeVmdkStream } from './bake/image-formats/vmdk/stream-writer.js';
export { openImage } from './bake/image-formats/open.js';
export { type InitrdRequest, type InitrdTree, buildInitrdTree } from './bake/initrd/builder.js';

export { CakeError, CorruptInputError, DoesNotFitError, InvalidOptionError, UnsupportedError } from './util/errors.js';
