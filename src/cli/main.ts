#!/usr/bin/env node
/**
 * The `hyperseg` entry point. The signal handlers go in before the program loads: an ES module's static
 * imports are all loaded and linked before any of them runs, which takes about a second here, and a Ctrl-C
 * in that second used to end Node silently.
 */

import './signals.js';

const { buildProgram } = await import('./program.js');
await buildProgram().parseAsync(process.argv);
