// Sums a .heapsnapshot's objects by constructor, plain objects by their property names
// (self sizes): which objects fill the heap. A probe for issue 16, not a benchmark.
//   npx jiti bench/heap-summary.ts FILE.heapsnapshot [TOP=30]
import * as fs from 'node:fs';

const [file, topArg = '30'] = process.argv.slice(2) as [string, string?];
const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
const meta = snap.snapshot.meta;
const F = meta.node_fields.length;
const typeNames = meta.node_types[0];
const iType = meta.node_fields.indexOf('type');
const iName = meta.node_fields.indexOf('name');
const iSize = meta.node_fields.indexOf('self_size');
const iEdges = meta.node_fields.indexOf('edge_count');
const E = meta.edge_fields.length;
const edgeTypes = meta.edge_types[0];
const iEType = meta.edge_fields.indexOf('type');
const iEName = meta.edge_fields.indexOf('name_or_index');
const by = new Map<string, { count: number; size: number }>();
let total = 0;
let edge = 0;
for (let i = 0; i < snap.nodes.length; i += F) {
  // Plain objects are told apart by their property names (the shape).
  const props: string[] = [];
  const edges = snap.nodes[i + iEdges];
  for (let k = 0; k < edges; k++, edge += E) {
    if (edgeTypes[snap.edges[edge + iEType]] === 'property') props.push(snap.strings[snap.edges[edge + iEName]]);
  }
  const type = typeNames[snap.nodes[i + iType]];
  let name = snap.strings[snap.nodes[i + iName]];
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
  if (type === 'code') name = '(code)';
  if (type === 'object' && name === 'Object') name = `{${props.filter((p) => p !== '__proto__').join(',')}}`;
  if (name.length > 90) name = name.slice(0, 90) + '…';
  const key = `${type}:${name}`;
  const size = snap.nodes[i + iSize];
  const e = by.get(key) ?? { count: 0, size: 0 };
  e.count++;
  e.size += size;
  by.set(key, e);
  total += size;
}
console.log(`total ${(total / 1e6).toFixed(1)} MB in ${snap.nodes.length / F} objects`);
for (const [k, e] of [...by].sort((a, b) => b[1].size - a[1].size).slice(0, Number(topArg))) {
  console.log(`${(e.size / 1e6).toFixed(2).padStart(8)} MB ${String(e.count).padStart(9)}  ${(e.size / e.count).toFixed(0).padStart(6)} B  ${k}`);
}
