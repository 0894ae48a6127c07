#!/usr/bin/env node
// The cake-img executable: size V8's heap for large trees, start reading the source tree
// early (api/prefetch.ts), then load the command line.
import * as v8 from 'node:v8';
import { prefetchSourceOf } from '../api/prefetch.js';
import { startGuardianEarly } from '../host/lifecycle.js';
import { deferOptimizingCompiler } from '../host/jit-tiering.js';

// Commands that soon make a temp file (their output) or start a child (cook's proot, boot's
// QEMU). Not `build`: a no-op build (everything cached) does neither and should not pay for perl.
const GUARDED = new Set(['mkfs', 'initramfs', 'initrd', 'bake', 'convert', 'cook', 'boot']);
// Commands measured faster without TurboFan on a small tree (not initramfs: its deflate).
const DEFERRED_OPT = new Set(['mkfs', 'bake']);

// V8's heap is tuned for speed; a tree of a million files makes the heap hold a few
// hundred MB live, and two defaults then cost more memory than their speed is worth. Node
// flags the user gives for the same thing win.
const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
// The young generation starts at 1 MiB a semi-space and V8 doubles it up to 16 MiB while
// much survives, as it does while a tree is read and planned: 32 MB of RSS beside the
// plan. A growth factor of 1 keeps it at its start (max-semi-space-size has no effect once
// the heap exists; V8 clamps this flag to 2 on the command line, not when set here, and a
// factor of 1 only makes its grow step a no-op). Measured on 300,000 files: peak RSS
// 20-40 MB lower and steadier, CPU time the same within noise.
// Only on the V8 these were measured on (Node 20's 11.x): V8 prints an error line for a
// flag it does not know, and a later one may drop or rename either.
const measuredV8 = /^11\./.test(process.versions.v8);
if (measuredV8 && !/semi-space/.test(given)) v8.setFlagsFromString('--semi-space-growth-factor=1');
// The old generation is collected when it has grown by a factor (up to 4) over what the
// last full GC left; the heap of a large plan is mostly live, so that growth is mostly
// garbage counted in the peak. 25% bounds it: 300,000 files 211 -> 184 MB peak, 1,000,000
// 465 -> 388 MB, for some ten more full GCs (incremental, a few ms of pause each; about
// 4% more CPU at 300,000 files, none on a 9,000-file Debian tree).
if (measuredV8 && !/heap-growing-percent/.test(given)) v8.setFlagsFromString('--heap-growing-percent=25');
const sourceDir = prefetchSourceOf(process.argv.slice(2));
// A bake or mkfs of a host directory starts without V8's optimizing compiler and turns it
// on when the tree proves large (host/jit-tiering.ts).
if (sourceDir && DEFERRED_OPT.has(process.argv[2]!)) deferOptimizingCompiler(given);
// Start the guardian of temps and children (host/lifecycle.ts) while the process is small.
if (GUARDED.has(process.argv[2] ?? '') && !process.argv.includes('--help') && !process.argv.includes('-h')) startGuardianEarly();
await import('./program.js');
