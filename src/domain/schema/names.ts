// Kubernetes name syntax (DNS-1123), as the API server checks it; and Linux's interface names.
// Rules: a label is what a namespace, a NAD name in the networks annotation or an interface name
// is checked against (the regular expression of Multus's parser, which sets no length limit); a
// subdomain (at most 253 characters, dot-separated labels) is what a Subnet or IPPool name is.
const labelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const isDns1123Label = (text: string): boolean => labelPattern.test(text);

export const isDns1123Subdomain = (text: string): boolean =>
  text.length <= 253 && text.split('.').every(isDns1123Label);

export const dns1123LabelRule = 'lower case letters, digits and "-", starting and ending with a letter or digit';

export const dns1123SubdomainRule =
  'at most 253 lower case letters, digits, "-" and ".", starting and ending with a letter or digit';

/** Linux's limit on an interface name (IFNAMSIZ less the terminating zero), in bytes. */
export const IFNAMSIZ = 15;
const utf8 = new TextEncoder();

/** Why `name` cannot be a Linux interface name (the kernel's dev_valid_name), or undefined
 *  when it can: the one check of the CNI environment, the daemon's requests and the networks
 *  annotation's interface names. */
export const interfaceNameProblem = (name: string): string | undefined => {
  if (name === '') return 'is empty';
  if (utf8.encode(name).length > IFNAMSIZ) return `is longer than ${IFNAMSIZ} bytes`;
  if (name === '.' || name === '..') return 'is not a valid interface name';
  if (/[/:\s]/.test(name)) return 'contains "/", ":" or white space';
  return undefined;
};
