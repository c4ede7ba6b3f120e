/**
 * The one list of `lowbit` subcommands: add a command by writing its file in this folder and
 * adding one line here.
 */
import type { CommandFactory } from '../context.js';
import { dataCommand } from './data.js';

/** Every subcommand factory, in help order. */
export const COMMANDS: readonly CommandFactory[] = [dataCommand];

export { addDataOptions } from './data.js';
