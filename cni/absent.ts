// What scripts/build-cni.sh bundles in place of the optional packages that dependencies require
// inside a try and do without (node-fetch's `encoding`, ws's `bufferutil` and `utf-8-validate`).
// A single executable's require() loads only built-in modules and warns on stderr at the first
// other name; this stub fails like an absent package instead, so the CLI's output stays clean.
const absent: NodeJS.ErrnoException = new Error('an optional package that is not bundled into the single executable');
absent.code = 'MODULE_NOT_FOUND';
throw absent;
