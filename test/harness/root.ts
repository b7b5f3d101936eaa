// Tests that drive real kernel networking need root. Off root they skip, loudly: a skipped
// suite prints why, so a green run without root is never mistaken for a tested one.
import { describe } from '@jest/globals';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** `describe` when running as root; otherwise `describe.skip`, after saying that `suite` needs root. */
export function describeAsRoot(suite: string): typeof describe | typeof describe.skip {
  if (isRoot()) return describe;
  // Straight to stderr: jest does not print the console output of a file whose tests all skip.
  process.stderr.write(`SKIPPED ${suite}: needs root (network namespaces, veth links, Open vSwitch); run as root, as CI does\n`);
  return describe.skip;
}
