// MAC generation from a seed: deterministic (the same seed and attempt give the same MAC, so a
// plan is reproducible), locally administered (bit 1 of the first octet set) and unicast (bit 0
// clear). The seed comes in as data; the domain has no randomness of its own.

/** 32-bit FNV-1a over the UTF-16 code units of `text`, from a given offset basis. */
const fnv1a = (text: string, basis: number): number => {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
};

/** The `attempt`-th candidate MAC for `seed` (attempts differ so collisions can be re-drawn). */
export const generateMac = (seed: string, attempt: number): bigint => {
  const text = `${seed}#${attempt}`;
  const high = BigInt(fnv1a(text, 0x811c9dc5) & 0xffff);
  const low = BigInt(fnv1a(text, 0x050c5d1f));
  const raw = (high << 32n) | low;
  const firstOctet = ((raw >> 40n) & 0xfcn) | 0x02n;
  return (firstOctet << 40n) | (raw & 0xffffffffffn);
};

export const isLocallyAdministeredUnicast = (mac: bigint): boolean => ((mac >> 40n) & 0x03n) === 0x02n;
