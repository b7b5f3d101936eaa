// Entry of the one executable (scripts/build-cni.sh) that is both the `kube-ovn` CNI plugin and
// the `kube-ovn-ipam` command line (controller, daemon, plan, …), so an image or a node carries
// Node.js once. It chooses by the name it was run under, as busybox does: `kube-ovn` is the
// plugin (a runtime runs /opt/cni/bin/kube-ovn), any other name is the CLI.
// Rules: the plugin starts on every pod network operation, so its path must not pay for the
// CLI's 3 MB of bundled code (client-node, io-ts, pino, …): V8 scans a script's every function
// even when none runs, which made a one-bundle executable's start about a fifth slower. So the
// plugin is bundled with this entry, and the CLI is a bundle of its own, kept as an asset of the
// single executable (or a file beside this script when run by `node`) and compiled only when
// the CLI is asked for. Both sides run on load and read their arguments from argv.slice(2).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { compileFunction } from 'node:vm';

/** The name the CNI runtime runs the plugin under (its `"type"`). */
const PLUGIN_NAME = 'kube-ovn';
/** The CLI's bundle: the single executable's asset key, and its file name beside this script. */
const CLI_BUNDLE = 'kube-ovn-ipam.cjs';

/**
 * The name this process was run under. A single executable puts its own path in argv[0] and the
 * name it was run as (a hard link's or a symlink's own name, not the file it resolves to) in
 * argv[1], so argv.slice(2) holds the arguments as under `node script …`; run by `node` as a
 * script (`node dist/cni/kube-ovn.cjs`), argv[1] is the script, named without its extension.
 * build-cni.sh runs the executable under both names, so a Node that changed this fails there.
 */
const invokedName = (argv: readonly string[]): string => basename(argv[1] ?? '').replace(/\.[cm]?js$/, '');

/** Runs the CLI's CommonJS bundle, which needs only Node's built-in modules from require. */
const runCliBundle = (): void => {
  const here = isSea() ? process.execPath : resolve(process.argv[1] ?? '');
  const source = isSea() ? getAsset(CLI_BUNDLE, 'utf8') : readFileSync(join(dirname(here), CLI_BUNDLE), 'utf8');
  const module = { exports: {} };
  compileFunction(source, ['exports', 'require', 'module'], { filename: CLI_BUNDLE })(module.exports, createRequire(here), module);
};

if (invokedName(process.argv) === PLUGIN_NAME) void import('./main.js');
else runCliBundle();
