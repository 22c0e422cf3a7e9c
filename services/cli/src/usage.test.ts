import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/kvroute.js', import.meta.url));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built executable as `npx kvroute` does; async so cases run side by side. */
function kvroute(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, KVROUTE_LOG_LEVEL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

// A V8 stack frame line: what a user must never see for a mistyped flag.
const STACK_FRAME = /^\s+at /m;

const BENCHES = 'keys decode routing index tokenize publisher indexer router'.split(' ');

describe('kvroute <command> --help', () => {
  const commands = [
    ...'publisher indexer router demo stack sim loadtest bench'.split(' '),
    'sim serve',
    'loadtest compare',
    'loadtest e2e',
    ...BENCHES.map((b) => `bench ${b}`),
  ];
  // -h on a sample: each command takes it wherever it takes --help
  const short = new Set(['demo', 'loadtest', 'loadtest e2e', 'sim serve', 'bench keys']);
  for (const command of commands) {
    for (const flag of short.has(command) ? ['--help', '-h'] : ['--help']) {
      it.concurrent(`${command} ${flag} prints its usage to stdout and exits 0`, async () => {
        const r = await kvroute([...command.split(' '), flag]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: kvroute ${command.split(' ')[0]}`));
        // a subcommand's usage names it: `loadtest e2e --help` is not the `loadtest` usage
        if (/^(sim|loadtest) /.test(command)) expect(r.stdout).toContain(`kvroute ${command} `);
      });
    }
  }
});

describe('kvroute usage errors', () => {
  const cases: [string[], string, RegExp][] = [
    [['demo', '--pods', '0'], 'demo', /--pods must be an integer in 1\.\.64/],
    [['demo', '--bogus'], 'demo', /unknown option '--bogus'/i],
    [['demo', '--policy', 'nope'], 'demo', /--policy: .*unknown preset "nope"/],
    [['stack', '--shards', '0'], 'stack', /--shards must be an integer in 1\.\.8/],
    [['stack', '--pods'], 'stack', /--pods <value>' argument missing/],
    [['bench', 'keys', '--bogus'], 'bench', /unknown option '--bogus'/i],
    [['loadtest'], 'loadtest', /missing subcommand: compare or e2e/],
    [['loadtest', 'nope'], 'loadtest', /unknown subcommand "nope"/],
    [['loadtest', 'e2e', '--bogus'], 'loadtest e2e', /unknown option '--bogus'/i],
    [['loadtest', 'e2e', '--pods', '0'], 'loadtest e2e', /--pods must be a positive number/],
    // named before the simulator or the stack does any work
    [['loadtest', 'e2e', '--policy', 'nope'], 'loadtest e2e', /--policy: .*unknown preset "nope"/],
  ];
  for (const [args, label, message] of cases) {
    it.concurrent(`${args.join(' ')} names the problem and exits 2`, async () => {
      const r = await kvroute(args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      const [first, hint, ...more] = r.stderr.trimEnd().split('\n');
      expect(first).toMatch(new RegExp(`^kvroute ${label}: `));
      expect(first).toMatch(message);
      expect(hint).toBe(`(kvroute ${label} --help for usage)`);
      expect(more).toEqual([]);
    });
  }
});

describe('kvroute unexpected errors', () => {
  const busyPort = async () => {
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    return { server, port: (server.address() as AddressInfo).port };
  };

  it('exit 1 with the message and no stack trace', async () => {
    const { server, port } = await busyPort();
    try {
      const r = await kvroute(['demo', '--pods', '1', '--port', String(port)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^kvroute demo: .*EADDRINUSE.*:${port}`, 'm'));
      expect(r.stderr).toMatch(/KVROUTE_LOG_LEVEL=debug/);
      expect(r.stderr).not.toMatch(STACK_FRAME);
    } finally {
      server.close();
    }
  });

  it('show the stack trace at log level debug', async () => {
    const { server, port } = await busyPort();
    try {
      const r = await kvroute(['demo', '--pods', '1', '--port', String(port)], {
        KVROUTE_LOG_LEVEL: 'debug',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^kvroute demo: .*EADDRINUSE/m);
      expect(r.stderr).toMatch(STACK_FRAME);
    } finally {
      server.close();
    }
  });
});
