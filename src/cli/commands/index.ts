/**
 * The one list of `lowbit` subcommands: add a command by writing its file in this folder and
 * adding one line here.
 */
import type { CommandFactory } from '../context.js';
import { convertCommand } from './convert.js';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { evaluateCommand } from './evaluate.js';
import { plotCommand } from './plot.js';
import { studyCommand } from './study.js';
import { summaryCommand } from './summary.js';
import { trainCommand } from './train.js';

/** Every subcommand factory, in help order. */
export const COMMANDS: readonly CommandFactory[] = [
  demoCommand,
  trainCommand,
  evaluateCommand,
  summaryCommand,
  convertCommand,
  plotCommand,
  studyCommand,
  dataCommand,
];

export { addDataOptions } from './data.js';
