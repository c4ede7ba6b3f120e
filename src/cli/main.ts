#!/usr/bin/env node
/**
 * Entry point of the `lowbit` command (package.json bin: dist/cli/main.js).
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
