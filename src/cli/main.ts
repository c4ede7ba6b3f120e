#!/usr/bin/env node
/**
 * Entry point of the `lowbit` command (package.json bin: dist/cli/main.js).
 */
import { enableProdMode } from '@tensorflow/tfjs-core';
import { runCli } from './program.js';

// Keep tfjs's console notices (such as the cpu backend's "install tfjs-node" banner) out of the
// command's output: stdout carries results, stderr one-line errors and progress. lowbit's own
// warnings do not go through tfjs's logger.
enableProdMode();

process.exitCode = await runCli(process.argv.slice(2));
