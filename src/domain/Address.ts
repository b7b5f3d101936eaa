// Address arithmetic for IPv4 and IPv6 on bigint, and MAC addresses on bigint.
// Rules: parsing is strict (no prefix, no zone, no IPv4-mapped IPv6, no leading zeros, no spaces);
// formatting is canonical (IPv6 compressed lower case, RFC 5952), so a formatted address can be
// compared as a string. Errors are values: `Either<string, …>` with a message a person can act on.
import { parseIp, stringifyIp } from 'ip-bigint';
import * as E from 'fp-ts/lib/Either.js';

export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

export const familyName = (family: Family): 'IPv4' | 'IPv6' => (family === 4 ? 'IPv4' : 'IPv6');

/** Parses one bare address; `text` is quoted in the error so the caller need not repeat it. */
export const parseAddress = (text: string): E.Either<string, Address> => {
  if (text.includes('/')) return E.left(`"${text}" is not an IP address (a prefix length is not allowed here)`);
  let parsed: ReturnType<typeof parseIp>;
  try {
    parsed = parseIp(text);
  } catch {
    return E.left(`"${text}" is not an IP address`);
  }
  if (parsed.scopeid !== undefined) return E.left(`"${text}" is not an IP address (a zone index is not allowed)`);
  if (parsed.ipv4mapped) return E.left(`"${text}" is an IPv4-mapped IPv6 address; write the IPv4 address instead`);
  return E.right({ family: parsed.version === 4 ? 4 : 6, value: parsed.number });
};

export const formatAddress = (address: Address): string =>
  stringifyIp({ number: address.value, version: address.family });

export const formatValue = (family: Family, value: bigint): string => stringifyIp({ number: value, version: family });

export const compareBigint = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

// ---- MAC addresses -------------------------------------------------------------------------

const macPattern = /^([0-9a-fA-F]{2})([:-][0-9a-fA-F]{2}){5}$/;

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`), any case; rejects multicast and all-zero MACs,
 *  which no interface may carry. */
export const parseMac = (text: string): E.Either<string, bigint> => {
  if (!macPattern.test(text)) return E.left(`"${text}" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)`);
  const value = BigInt('0x' + text.replace(/[:-]/g, ''));
  if (value === 0n) return E.left(`"${text}" is the all-zero MAC address`);
  if (((value >> 40n) & 1n) === 1n) return E.left(`"${text}" is a multicast MAC address (the first octet must be even)`);
  return E.right(value);
};

export const formatMac = (value: bigint): string =>
  value
    .toString(16)
    .padStart(12, '0')
    .match(/../g)!
    .join(':');
