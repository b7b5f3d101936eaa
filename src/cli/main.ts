#!/usr/bin/env node
// The `kube-ovn-ipam` executable: wires the process (argv, streams, exit code) to runCli and
// does nothing else. A bug surfaces as exit 1 with its stack; usage and input problems are 2.
import { runCli } from './commands.js';
import type { CliIo } from './io.js';

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
};

const io: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin,
};

// `kube-ovn-ipam plan … | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

/** Exit once the loop drains, or at the latest after a grace for the last log lines: a socket
 *  a library keeps open (a keep-alive connection, a watch nobody aborted) must not keep a
 *  command that has finished alive. */
const exitWith = (code: number): void => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
};
const EXIT_GRACE_MS = 1_000;

runCli(process.argv.slice(2), io).then(
  (code) => exitWith(code),
  (error: unknown) => {
    process.stderr.write(`kube-ovn-ipam: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    exitWith(1);
  },
);
