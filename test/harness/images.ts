// Container images for the cluster tier, with no registry on the network: the seed's pods say
// `image: alpine` and `image: nginx:alpine`, so kubelet pulls them; they are served from a real
// registry on loopback (Debian's `docker-registry`), which containerd uses as its mirror for
// docker.io, and are built here from Debian's `busybox-static` (one static binary, its applets
// as symlinks: `/bin/ash`, `sleep`, `ping`, `ip`, `httpd`).
//
// Rules:
// - An image is an OCI image layout written here (one gzip layer, config, manifest, index) and
//   copied into the registry with `skopeo copy oci:… docker://…` (a real push over HTTP).
// - One layer serves every image: the images differ only in their config (Cmd).
//   `nginx:alpine` runs busybox's httpd on port 80 with an index page; the sandbox ("pause")
//   image sleeps and exits at once on SIGTERM.
// - The registry runs on a free loopback port, its storage in the cluster's temp dir; cluster.ts
//   starts and stops it with the harness's process helpers (proc.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './exec.js';

export const BUSYBOX = '/bin/busybox';

export interface ImageSpec {
  /** Repository path in the registry, e.g. `library/alpine`. */
  readonly repository: string;
  readonly tag: string;
  readonly cmd: readonly string[];
}

/** What the seed's pods and the sandbox need. `pause` is containerd's sandbox image. */
export const TEST_IMAGES: readonly ImageSpec[] = [
  { repository: 'library/alpine', tag: 'latest', cmd: ['/bin/sh'] },
  { repository: 'library/nginx', tag: 'alpine', cmd: ['httpd', '-f', '-v', '-p', '80', '-h', '/www'] },
  { repository: 'library/pause', tag: 'kube-ovn-ipam', cmd: ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"] },
];
export const SANDBOX_IMAGE = 'docker.io/library/pause:kube-ovn-ipam';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Writes the busybox root filesystem into `root`. */
async function writeRootfs(root: string): Promise<void> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'www', 'proc', 'sys', 'dev', 'root', 'var/run']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  writeFileSync(join(root, 'bin/busybox'), readFileSync(BUSYBOX), { mode: 0o755 });
  // `--list-full` names each applet with its usual folder (bin/ash, sbin/ip, usr/bin/…).
  const applets = (await runOk([BUSYBOX, '--list-full'])).split('\n').filter((l) => l !== '' && l !== 'bin/busybox');
  for (const applet of applets) symlinkSync('/bin/busybox', join(root, applet));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(root, 'www/index.html'), 'kube-ovn-ipam test page\n');
}

/**
 * Builds every TEST_IMAGES entry as an OCI image layout under `dir` (one layout per image,
 * `dir/<name>-<tag>`); resolves with the layout paths, in TEST_IMAGES order.
 */
export async function buildTestImages(dir: string): Promise<readonly string[]> {
  const root = join(dir, 'rootfs');
  await writeRootfs(root);
  const layerTar = join(dir, 'layer.tar');
  await runOk(['tar', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--sort=name', '-C', root, '-cf', layerTar, '.']);
  const diffId = sha256(readFileSync(layerTar));
  await runOk(['gzip', '-n', '-f', layerTar]);
  const layer = readFileSync(`${layerTar}.gz`);
  const layerDigest = sha256(layer);
  const layouts: string[] = [];
  for (const image of TEST_IMAGES) {
    const layout = join(dir, `${image.repository.replace(/\//g, '-')}-${image.tag}`);
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const blob = (content: Buffer | string): { digest: string; size: number } => {
      const digest = sha256(content);
      writeFileSync(join(blobs, digest), content);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
    };
    writeFileSync(join(blobs, layerDigest), layer);
    const config = blob(JSON.stringify({
      architecture: ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch, os: 'linux', created: '1970-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: image.cmd, WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    }));
    const manifest = blob(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${layerDigest}`, size: layer.length }],
    }));
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': image.tag } }],
    }));
    layouts.push(layout);
  }
  return layouts;
}

/** The registry's configuration file (storage under `storage`, HTTP on 127.0.0.1:`port`). */
export function registryConfig(storage: string, port: number): string {
  return [
    'version: 0.1',
    'log: { level: warn }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(storage)} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
    '',
  ].join('\n');
}

/** Pushes each layout of `buildTestImages` into the registry at 127.0.0.1:`port` with skopeo. */
export async function pushTestImages(layouts: readonly string[], port: number): Promise<void> {
  await Promise.all(TEST_IMAGES.map((image, i) => runOk(['skopeo', 'copy', '--quiet', '--insecure-policy',
    '--dest-tls-verify=false', `oci:${layouts[i] ?? ''}:${image.tag}`, `docker://127.0.0.1:${port}/${image.repository}:${image.tag}`],
  { timeoutMs: 60_000 })));
}
