// Command-line parsing helpers on top of `node:util` parseArgs.
// Rules: nothing throws; a problem is a sentence a person can act on, naming the flag and the
// value; flags and positional arguments come back in command-line order (tokens), so
// `--snapshot a b --snapshot c` reads a, b, c in that order.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';

export type FlagSpecs = NonNullable<ParseArgsConfig['options']>;

/** One flag or positional argument, in command-line order. */
export type Arg =
  | { readonly kind: 'flag'; readonly name: string; readonly value: string | undefined }
  | { readonly kind: 'positional'; readonly value: string };

/** Parses strictly (unknown flags and missing values are errors); `--` ends the flags. */
export const parseFlags = (argv: readonly string[], options: FlagSpecs): E.Either<string, readonly Arg[]> => {
  try {
    const { tokens } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true });
    return E.right(tokens.flatMap((token): Arg[] => {
      if (token.kind === 'option') return [{ kind: 'flag', name: token.name, value: token.value }];
      if (token.kind === 'positional') return [{ kind: 'positional', value: token.value }];
      return [];
    }));
  } catch (e) {
    return E.left(describeParseError(e));
  }
};

/** parseArgs's errors, shorter: `unknown flag --x`, `flag --output needs a value`, … */
const describeParseError = (e: unknown): string => {
  const message = e instanceof Error ? e.message : String(e);
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  // parseArgs quotes the flag as it was written ('--x') or as declared ('-o, --output <value>').
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const flag = quoted.split(/[ ,]+/).find((part) => part.startsWith('--')) ?? quoted.split(' ')[0] ?? quoted;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${quoted}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('argument missing')) return `flag ${flag} needs a value`;
    if (message.includes('ambiguous')) return `flag ${flag} needs a value (write ${flag}=VALUE for a value that starts with "-")`;
    if (message.includes('does not take an argument')) return `flag ${flag} takes no value`;
  }
  return message.split('\n')[0] ?? message;
};

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 timestamp (`2025-01-31T12:00:00Z`, `2025-01-31T13:00:00.5+01:00`) as milliseconds
 * since the epoch. Checks the fields itself, because Date.parse takes February 30 for March 1;
 * a leap second (`:60`) is refused, as Date cannot hold it.
 */
export const parseTimestamp = (text: string): E.Either<string, number> => {
  const m = rfc3339.exec(text);
  if (m === null) return E.left(`expected an RFC 3339 time such as 2025-01-31T12:00:00Z, got ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((part) => Number(part ?? 0)) as
    [number, number, number, number, number, number, number, number];
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0); // day 0 of the next month; unlike Date.UTC, keeps years 0–99
  const valid = month >= 1 && month <= 12 && day >= 1 && day <= lastDay.getUTCDate()
    && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  const ms = Date.parse(text);
  return valid && Number.isFinite(ms) ? E.right(ms) : E.left(`${JSON.stringify(text)} is not a valid date and time`);
};

/** A non-negative number of seconds (`300`, `1.5`) as milliseconds. */
export const parseSeconds = (text: string): E.Either<string, number> => {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  return Number.isFinite(seconds) ? E.right(Math.round(seconds * 1000)) : E.left(`expected a number of seconds such as 300, got ${JSON.stringify(text)}`);
};

export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/**
 * A long-running command's flags (no positional arguments), parsed strictly: the values, or
 * the exit code after printing a usage problem (2) or the help asked for (0).
 */
export const commandFlags = (
  command: string, argv: readonly string[], options: FlagSpecs, help: string, io: CliIo,
): { readonly values: FlagValues } | { readonly exit: number } => {
  let values: FlagValues;
  try {
    values = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (e) {
    io.stderr(`${PROGRAM} ${command}: ${describeParseError(e)}\nRun '${PROGRAM} ${command} --help' for usage.\n`);
    return { exit: EXIT_USAGE };
  }
  if (values['help'] === true) {
    io.stdout(help);
    return { exit: EXIT_OK };
  }
  // Checked here for every command that has it: pino throws on a level it does not know.
  const level = values['log-level'];
  if (typeof level === 'string' && level !== '' && !isLogLevel(level)) {
    io.stderr(`${PROGRAM} ${command}: --log-level ${JSON.stringify(level)}: expected debug, info, warn or error\n`);
    return { exit: EXIT_USAGE };
  }
  return { values };
};

/** Is `level` one the logger knows (--log-level)? */
export const isLogLevel = (level: string): boolean => ['debug', 'info', 'warn', 'error'].includes(level);
