#!/usr/bin/env node
// The cake-img executable. Before loading the command line (on a cold disk, loading
// modules takes a good part of a second), a command that will read a host directory
// tree starts the kernel fetching that tree (io/prefetch.ts), so the disk is busy while
// Node gets ready rather than after.
import { earlySourceDir } from './early-source.js';
import { prefetchTree } from '../host/prefetch.js';

const dir = earlySourceDir(process.argv.slice(2));
if (dir) prefetchTree(dir);
await import('./program.js');
