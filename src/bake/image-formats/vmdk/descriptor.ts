// The VMDK descriptor (VMware "Virtual Disk Format 5.0", section "The Descriptor File"),
// embedded in a sparse extent: a small text of `key=value` lines, one extent line, and
// the disk database (ddb.*). Written for one monolithic streamOptimized extent; parsed,
// bounded, for the createType and extent of an image being read.

export interface DescriptorOptions {
  /** Content ID: 8 hex digits, derived from the inputs. */
  cid: number;
  capacitySectors: number;
  /** The file's own name, in the extent line (quotes and control characters replaced). */
  fileName: string;
}

/** IDE geometry as VMware and qemu record it: 16 heads, 63 sectors, cylinders capped at 16383. */
function cylinders(sectors: number): number {
  return Math.min(16383, Math.floor(sectors / (16 * 63)));
}

export function vmdkDescriptor(o: DescriptorOptions): string {
  const name = o.fileName.replace(/["\\\x00-\x1f\x7f]/g, '_');
  return [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${(o.cid >>> 0).toString(16).padStart(8, '0')}`,
    'parentCID=ffffffff',
    'createType="streamOptimized"',
    '',
    '# Extent description',
    `RW ${o.capacitySectors} SPARSE "${name}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cylinders(o.capacitySectors)}"`,
    'ddb.geometry.heads = "16"',
    'ddb.geometry.sectors = "63"',
    'ddb.adapterType = "ide"',
    '',
  ].join('\n');
}

/** createType of a descriptor's text (null when it names none). */
export function descriptorCreateType(text: string): string | null {
  const m = /^\s*createType\s*=\s*"([^"\n]{0,64})"/m.exec(text);
  return m ? m[1]! : null;
}
