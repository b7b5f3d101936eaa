// The I/O a command may do besides reading files: one record, so tests pass fakes in and
// main.ts wires the process's streams (STYLE.md: one record of capabilities).

export interface CliIo {
  /** Writes to standard output (the command's result). */
  readonly stdout: (text: string) => void;
  /** Writes to standard error (usage and input problems). */
  readonly stderr: (text: string) => void;
  /** Reads all of standard input as UTF-8 (for the path `-`). */
  readonly readStdin: () => Promise<string>;
}

/** The command's name, as error messages and help show it. */
export const PROGRAM = 'kube-ovn-ipam';

/** Exit codes: 0 done, 2 the command line or the input is wrong (DESIGN §3.7). */
export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
