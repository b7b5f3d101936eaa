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

/** The value of `text` when it is a canonical dotted quad (four decimal octets 0-255, no
 *  leading zeros, nothing else), else -1: the common case read without the general parser
 *  (a 100,000-entry ip_pool list is 100,000 of these). Everything it accepts, the general
 *  parser accepts with the same value; the rest goes there, for its verdict and its message. */
const dottedQuad = (text: string): number => {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && !(digits > 0 && octet === 0)) {
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
};

/** The address `text` is when it is a canonical dotted quad, else undefined (then parseAddress
 *  gives the verdict): for lists of many addresses. */
export const dottedQuadAddress = (text: string): Address | undefined => {
  const quad = dottedQuad(text);
  return quad >= 0 ? { family: 4, value: BigInt(quad) } : undefined;
};

/** Parses one bare address; `text` is quoted in the error so the caller need not repeat it. */
export const parseAddress = (text: string): E.Either<string, Address> => {
  const quad = dottedQuadAddress(text);
  if (quad !== undefined) return E.right(quad);
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

export const formatAddress = (address: Address): string => formatValue(address.family, address.value);

export const formatValue = (family: Family, value: bigint): string => {
  // Dotted decimal straight from the number: an IPPool's status may format 100,000 of these.
  if (family === 4 && value >= 0n && value <= 0xffffffffn) {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return stringifyIp({ number: value, version: family });
};

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
