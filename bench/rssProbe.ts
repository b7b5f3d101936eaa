// Preloaded into a measured child process (`node --import rssProbe.js script …`): when the
// process exits it writes its own peak resident set size, in KiB, to the file named by
// RSS_PROBE_FILE (a parent cannot read a child's rusage from Node). Without the variable it
// does nothing.
import { writeFileSync } from 'node:fs';

const file = process.env['RSS_PROBE_FILE'];
if (file !== undefined && file !== '') process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
