// `npm run bench`: every benchmark of the project, one JSON line per figure (see report.ts).
import { benchCluster } from './cluster.js';
import { benchCni } from './cni.js';
import { benchController } from './controller.js';
import { benchAgainstNaive, benchGrowth, benchMemory, benchScale } from './core.js';
import { benchOvn } from './ovn.js';
import { benchPlanner } from './planner.js';

benchScale();
benchAgainstNaive();
benchGrowth();
benchMemory();
benchPlanner();
await benchController();
await benchCni();
await benchOvn();
if (process.getuid?.() === 0) await benchCluster();
