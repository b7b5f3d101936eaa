// The schema layer in one import: io-ts codecs of the Kubernetes objects we read, their
// decoding into values with problems a person can act on, and the parsers of NAD configs and
// pod annotations. Rules: see each module's header.
export * from './decode.js';
export * from './primitives.js';
export * from './meta.js';
export * from './kubeovn.js';
export * from './kube.js';
export * from './nad.js';
export * from './kubevirt.js';
export * from './json.js';
export * from './names.js';
export * from './route.js';
export * from './netconf.js';
export * from './networks.js';
export * from './annotations.js';
