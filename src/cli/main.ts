#!/usr/bin/env node
// The cake-img executable: start reading the source tree early (api/prefetch.ts), then
// load the command line.
import { prefetchSourceOf } from '../api/prefetch.js';

prefetchSourceOf(process.argv.slice(2));
await import('./program.js');
