// Byte ranges of a device: what a writer may write, what a reader holds. Sorted,
// non-overlapping lists of half-open [start, end) ranges, and the few operations the
// image formats need on them (merge, subtract, shift, round out to a unit).

/** The bytes [start, end) of a device. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Sorted, with overlapping and touching ranges merged and empty ones dropped. */
export function normalizeRanges(ranges: Iterable<ByteRange>): ByteRange[] {
  const all = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of all) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** `a` less `b` (both normalized). */
export function subtractRanges(a: readonly ByteRange[], b: readonly ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  let j = 0;
  for (const r of a) {
    let start = r.start;
    while (j < b.length && b[j]!.end <= start) j++;
    let k = j;
    while (k < b.length && b[k]!.start < r.end) {
      const cut = b[k]!;
      if (cut.start > start) out.push({ start, end: cut.start });
      start = Math.max(start, cut.end);
      if (cut.end > r.end) break;
      k++;
    }
    if (start < r.end) out.push({ start, end: r.end });
  }
  return out;
}

/** Each range moved by `by` bytes. */
export function shiftRanges(ranges: readonly ByteRange[], by: number): ByteRange[] {
  return ranges.map((r) => ({ start: r.start + by, end: r.end + by }));
}

/** Ranges grown out to whole `unit`s (starts down, ends up), merged. */
export function roundOutRanges(ranges: readonly ByteRange[], unit: number): ByteRange[] {
  return normalizeRanges(ranges.filter((r) => r.end > r.start).map((r) => ({ start: Math.floor(r.start / unit) * unit, end: Math.ceil(r.end / unit) * unit })));
}

/** Ranges cut to [0, size). */
export function clipRanges(ranges: readonly ByteRange[], size: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) if (r.start < size) out.push({ start: r.start, end: Math.min(r.end, size) });
  return out;
}

/** Total bytes covered (normalized input). */
export function rangesBytes(ranges: readonly ByteRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/** One piece of a disk: ranges relative to a start offset (a partition, a table). */
export interface RangePart {
  offset: number;
  ranges: readonly ByteRange[];
}

/** The disk's ranges from its parts, each shifted to where it lives, merged. */
export function composeRanges(parts: readonly RangePart[]): ByteRange[] {
  return normalizeRanges(parts.flatMap((p) => shiftRanges(p.ranges, p.offset)));
}

/** Index of the range holding `pos` (sorted, disjoint ranges of any unit), or -(insertion point) - 1 when none does. */
export function findRange(ranges: readonly { start: number; end: number }[], pos: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.end <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length && ranges[lo]!.start <= pos ? lo : -lo - 1;
}
