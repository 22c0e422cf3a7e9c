import { spawnSync } from 'node:child_process';

/**
 * Makes sure Debian packages are installed, like scripts/ensure-system-packages.mjs:
 * as root it installs them; otherwise it fails naming the command that does.
 * `probe` is a command that succeeds once they are there.
 */
export function ensureDebianPackages(packages: string[], probe: string[]): void {
  const has = () => spawnSync(probe[0]!, probe.slice(1), { stdio: 'ignore' }).status === 0;
  if (has()) return;
  const fix = `sudo apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`${packages.join(', ')} missing: run ${fix}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
    if (!install()) throw new Error(`could not install ${packages.join(', ')}: run ${fix}`);
  }
  if (!has())
    throw new Error(`${probe.join(' ')} still fails after installing ${packages.join(', ')}`);
}
