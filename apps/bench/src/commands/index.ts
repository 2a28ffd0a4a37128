import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerClone } from './clone.js';
import { registerImprove } from './improve.js';
import { registerReproduce } from './reproduce.js';
import { registerDemo } from './demo.js';
import { registerInfo } from './info.js';
import { registerMetatest } from './metatest.js';
import { registerMetatrain } from './metatrain.js';
import { registerReport } from './report.js';
import { registerTrace } from './trace.js';

/** Every command registers itself on the program; the order is the order of `vsml --help`. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerDemo, registerReproduce, registerClone, registerMetatrain, registerImprove, registerMetatest, registerReport, registerInfo, registerTrace, registerBench];
