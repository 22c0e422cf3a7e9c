import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Copy, DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { deployDir, repoRoot } from './helpers/paths.js';

// No Docker engine runs here: the Dockerfile is linted (dockerfile-utils, the
// validator behind the VS Code Docker extension) and its structure checked.
const text = readFileSync(join(deployDir, 'docker/Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const stages = dockerfile.getFROMs();
const runtime = stages.at(-1)!;
const instructionsOf = (stage: number) =>
  dockerfile.getInstructions().filter((i) => {
    const line = i.getRange().start.line;
    const next = stages[stage + 1]?.getRange().start.line ?? Infinity;
    return line >= stages[stage]!.getRange().start.line && line < next;
  });

describe('Dockerfile', () => {
  it('lints clean', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds in stages on Node 20 slim and runs kvroute as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const arg = dockerfile.getARGs().find((a) => a.getProperty()?.getName() === 'NODE_IMAGE');
    expect(arg?.getProperty()?.getValue()).toMatch(/^node:20(\.\d+)*-[a-z]+-slim$/);
    for (const s of stages) expect(s.getImageName()).toBe('${NODE_IMAGE}');
    const last = instructionsOf(stages.length - 1);
    const user = last.filter((i) => i.getKeyword() === 'USER').at(-1);
    const uid = user?.getArgumentsContent()?.split(':')[0];
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    const entry = last.find((i) => i.getKeyword() === 'ENTRYPOINT')!.getArgumentsContent()!;
    expect(JSON.parse(entry)).toEqual(['/usr/bin/tini', '--', 'kvroute']);
    expect(runtime.getBuildStage()).toBe('runtime');
  });

  it('installs dependencies from the lockfile and ships production dependencies only', () => {
    const runs = dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '');
    expect(runs.some((r) => /npm ci --ignore-scripts/.test(r))).toBe(true);
    expect(runs.some((r) => /npm prune --omit=dev/.test(r))).toBe(true);
    const copies = instructionsOf(stages.length - 1).filter((i) => i instanceof Copy);
    expect(copies.map((c) => [c.getFromFlag()?.getValue(), c.getArgumentsContent()])).toEqual([
      ['build', '/out/ ./'],
    ]);
  });

  it('copies the package.json and dist/ of every workspace package that builds', () => {
    const run = dockerfile
      .getInstructions()
      .map((i) => i.getArgumentsContent() ?? '')
      .find((r) => r.includes('cp -a --parents'))!;
    const workspaces = ['libs', 'services'].flatMap((d) =>
      readdirSync(join(repoRoot, d)).map((p) => `${d}/${p}`),
    );
    workspaces.push('loadtest');
    let checked = 0;
    for (const w of workspaces) {
      const manifest = join(repoRoot, w, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        scripts?: Record<string, string>;
      };
      if (!pkg.scripts?.build) continue;
      const parent = w.includes('/') ? `${w.split('/')[0]}/*` : w;
      for (const part of ['package.json', 'dist']) {
        expect(
          run.includes(`${w}/${part}`) || run.includes(`${parent}/${part}`),
          `${w}/${part}`,
        ).toBe(true);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    expect(run).toContain('services/cli/bin');
  });

  it('keeps the build context small but every workspace manifest in it', () => {
    const ignore = readFileSync(join(deployDir, 'docker/Dockerfile.dockerignore'), 'utf8');
    expect(ignore).toMatch(/^\*\*\/node_modules$/m);
    expect(ignore).toMatch(/^!deploy\/package\.json$/m);
  });
});
