// An empty jbd2 journal: a big-endian v2 superblock in the first journal block
// (e2fsprogs lib/ext2fs/kernel-jbd.h, Documentation/filesystems/ext4/journal.rst).
import { type StructValue, defineStruct } from '../../struct/schema.js';

export const JOURNAL_SUPERBLOCK = defineStruct('jbd2 superblock', [
  ['h_magic', 'u32be', 0x0],
  ['h_blocktype', 'u32be', 0x4],
  ['h_sequence', 'u32be', 0x8],
  ['s_blocksize', 'u32be', 0xc],
  ['s_maxlen', 'u32be', 0x10],
  ['s_first', 'u32be', 0x14],
  ['s_sequence', 'u32be', 0x18],
  ['s_start', 'u32be', 0x1c],
  ['s_errno', 'u32be', 0x20],
  ['s_feature_compat', 'u32be', 0x24],
  ['s_feature_incompat', 'u32be', 0x28],
  ['s_feature_ro_compat', 'u32be', 0x2c],
  ['s_uuid', 'bytes16', 0x30],
  ['s_nr_users', 'u32be', 0x40],
  ['s_dynsuper', 'u32be', 0x44],
  ['s_max_transaction', 'u32be', 0x48],
  ['s_max_trans_data', 'u32be', 0x4c],
], { size: 1024 });
export type JournalSuperblock = StructValue<typeof JOURNAL_SUPERBLOCK>;

export const JBD2_MAGIC = 0xc03b3998;
export const JBD2_SUPERBLOCK_V2 = 4;

/** ext2fs_default_journal_size: journal blocks for a filesystem of `blocks` blocks (0 = too small for one). */
export function defaultJournalBlocks(blocks: number): number {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

export function encodeJournalSuperblock(blockSize: number, maxlen: number, uuid: Uint8Array): Uint8Array {
  const block = new Uint8Array(blockSize);
  JOURNAL_SUPERBLOCK.encode(
    { h_magic: JBD2_MAGIC, h_blocktype: JBD2_SUPERBLOCK_V2, h_sequence: 0, s_blocksize: blockSize, s_maxlen: maxlen, s_first: 1, s_sequence: 1, s_start: 0, s_nr_users: 1, s_uuid: uuid },
    block,
    0,
  );
  return block;
}
