import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  parseBytes,
  parseConfig,
  parseDuration,
  renderHelp,
  setting,
} from './config.js';

const schema = {
  nats: setting.string({ flag: 'nats', env: 'X_NATS', help: 'server', required: true }),
  port: setting.int({
    flag: 'port',
    env: 'X_PORT',
    help: 'port',
    default: 8080,
    min: 0,
    max: 65535,
  }),
  index: setting.string({
    flag: 'index',
    env: 'X_INDEX',
    help: 'mode',
    default: 'embedded',
    choices: ['embedded', 'remote'],
  }),
  budget: setting.bytes({
    flag: 'memory-budget',
    env: 'X_BUDGET',
    help: 'bytes',
    default: 2 ** 30,
  }),
  stale: setting.duration({ flag: 'stale', env: 'X_STALE', help: 'ms', default: 3000 }),
  bind: setting.bool({ flag: 'bind', env: 'X_BIND', help: 'bind', default: false }),
  creds: setting.optString({ flag: 'creds', env: 'X_CREDS', help: 'file' }),
};

describe('parseConfig', () => {
  it('takes flags over environment over defaults', () => {
    const c = parseConfig(schema, ['--nats', 'nats://a:1', '--port', '9'], {
      X_PORT: '7',
      X_INDEX: 'remote',
      X_BIND: 'yes',
    });
    expect(c).toEqual({
      nats: 'nats://a:1',
      port: 9,
      index: 'remote',
      budget: 2 ** 30,
      stale: 3000,
      bind: true,
      creds: undefined,
    });
    expect(
      parseConfig(schema, ['--memory-budget', '512MiB', '--stale', '250ms', '--bind'], {
        X_NATS: 'n',
      }),
    ).toMatchObject({
      budget: 512 * 1024 ** 2,
      stale: 250,
      bind: true,
    });
  });

  it('names the setting that is missing or wrong', () => {
    const err = (argv: string[], env: Record<string, string> = {}) => {
      try {
        parseConfig(schema, argv, env);
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
    };
    expect(err([])).toMatch(/missing required setting --nats \/ X_NATS/);
    expect(err(['--nats', 'n', '--port', 'abc'])).toMatch(
      /invalid --port \/ X_PORT \(port\): expected a number/,
    );
    expect(err(['--nats', 'n', '--port', '70000'])).toMatch(/at most 65535/);
    expect(err(['--nats', 'n'], { X_INDEX: 'nope' })).toMatch(
      /invalid --index \/ X_INDEX.*embedded\|remote/,
    );
    expect(err(['--nats', 'n', '--memory-budget', 'lots'])).toMatch(/not a size/);
    expect(err(['--nats', 'n', '--frob'])).toMatch(/frob/);
  });

  it('parses sizes and durations, and renders help with every flag', () => {
    expect(parseBytes('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseBytes('1.5kb')).toBe(1500);
    expect(parseDuration('1m')).toBe(60_000);
    expect(() => parseDuration('soon')).toThrow(RangeError);
    const help = renderHelp('x', schema);
    for (const s of Object.values(schema)) expect(help).toContain(`--${s.flag}`);
  });

  it('checks that files are readable, that paired settings come together, and that durations fit a timer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvroute-config-'));
    try {
      const cert = join(dir, 'cert.pem');
      writeFileSync(cert, 'x');
      const paired = {
        cert: setting.optString({
          flag: 'cert',
          env: 'X_CERT',
          help: 'c',
          file: true,
          requires: ['key'],
        }),
        key: setting.optString({
          flag: 'key',
          env: 'X_KEY',
          help: 'k',
          file: true,
          requires: ['cert'],
        }),
        wait: setting.duration({ flag: 'wait', env: 'X_WAIT', help: 'w', default: 1000 }),
      };
      const parse = (argv: string[]) => () => parseConfig(paired, argv, {});
      expect(parse(['--cert', cert, '--key', cert])()).toMatchObject({ cert, key: cert });
      expect(parse(['--cert', join(dir, 'nope.pem'), '--key', cert])).toThrow(
        /invalid --cert \/ X_CERT \(cert\): cannot read .*nope\.pem.*ENOENT/,
      );
      expect(parse(['--cert', dir, '--key', cert])).toThrow(/is not a file/);
      expect(parse(['--key', cert])).toThrow(
        /--key \/ X_KEY \(key\) needs --cert \/ X_CERT \(cert\) as well/,
      );
      expect(parse(['--cert', cert])).toThrow(/--cert .* needs --key/);
      expect(parse(['--wait', '24h'])()).toMatchObject({ wait: 86_400_000 });
      expect(parse(['--wait', '1000h'])).toThrow(/invalid --wait .* must be at most 2147483647 ms/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
