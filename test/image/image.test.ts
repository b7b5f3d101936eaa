// The OCI archive of scripts/build-image.sh, when one was built (this test builds nothing: the
// build takes minutes and root): the index names the image as ctr and podman read it, the
// manifest has the base and the executable layers, and the config says how it runs. Without an
// archive every case is skipped with a notice. What ran inside the image (ctr import and run,
// podman load) is in the README's "Image" section.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const TAG = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ARCHIVE = join(ROOT, `dist/image/kube-ovn-ipam-${TAG}.oci.tar`);
const REF = `docker.io/library/kube-ovn-ipam:${TAG}`;

interface Descriptor { readonly mediaType: string; readonly digest: string; readonly size: number; readonly annotations?: Record<string, string> }

/** One member of the archive, through tar (the archive holds a few large blobs, read once each). */
const member = (path: string): Buffer => execFileSync('tar', ['-xOf', ARCHIVE, path], { maxBuffer: 1 << 28 });
const json = <T>(path: string): T => JSON.parse(member(path).toString('utf8')) as T;
const blob = (d: Descriptor): string => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;

const built = existsSync(ARCHIVE);
if (!built) process.stderr.write(`test/image: no ${ARCHIVE}; run scripts/build-image.sh (as root) to check it\n`);
const describeBuilt = built ? describe : describe.skip;

describeBuilt(`the image archive ${REF}`, () => {
  it('is an OCI layout whose index names the image for ctr and podman', () => {
    expect(json('oci-layout')).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = json<{ manifests: Descriptor[] }>('index.json');
    expect(index.manifests.map((m) => [m.mediaType, m.annotations])).toEqual([[
      'application/vnd.oci.image.manifest.v1+json',
      { 'io.containerd.image.name': REF, 'org.opencontainers.image.ref.name': REF },
    ]]);
  });

  it('has two gzip layers (Debian, then the executable) whose diff_ids the config lists, and runs the executable', () => {
    const [descriptor] = json<{ manifests: Descriptor[] }>('index.json').manifests;
    if (descriptor === undefined) throw new Error('no manifest');
    const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(blob(descriptor));
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);
    const config = json<{ architecture: string; os: string; config: { Entrypoint: string[]; Cmd: string[]; Env: string[] }; rootfs: { type: string; diff_ids: string[] } }>(blob(manifest.config));
    expect({ os: config.os, entrypoint: config.config.Entrypoint, cmd: config.config.Cmd, rootfs: config.rootfs.type, layers: config.rootfs.diff_ids.length })
      .toEqual({ os: 'linux', entrypoint: ['/usr/local/bin/kube-ovn-ipam'], cmd: ['help'], rootfs: 'layers', layers: 2 });
    expect(config.config.Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const app = manifest.layers[1];
    if (app === undefined) throw new Error('no second layer');
    const listing = execFileSync('tar', ['-tvzf', '-'], { input: member(blob(app)), maxBuffer: 1 << 24 }).toString('utf8');
    // One file under both names (umoci rewrites the layer sorted by name, so kube-ovn holds it).
    const files = listing.trim().split('\n').filter((line) => !line.startsWith('d'))
      .map((line) => line.replace(/^(\S+) 0\/0 +\d+ \S+ \S+ /, '$1 '));
    expect(files).toEqual(['-rwxr-xr-x usr/local/bin/kube-ovn', 'hrwxr-xr-x usr/local/bin/kube-ovn-ipam link to usr/local/bin/kube-ovn']);
  });
});
