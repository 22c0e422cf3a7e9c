import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deployDir } from './helpers/paths.js';

// Documentation only (no Envoy here): the example parses and its pieces agree.
describe('Envoy example', () => {
  const text = readFileSync(join(deployDir, 'gateway/envoy/envoy.yaml'), 'utf8');
  const config = parse(text) as {
    static_resources: {
      clusters: {
        name: string;
        type: string;
        original_dst_lb_config?: { http_header_name: string };
      }[];
    };
  };

  it('sends to the pod named by the header the Lua filter sets from the router', () => {
    const clusters = Object.fromEntries(config.static_resources.clusters.map((c) => [c.name, c]));
    expect(clusters.kvroute_pods?.type).toBe('ORIGINAL_DST');
    expect(clusters.kvroute_pods?.original_dst_lb_config?.http_header_name).toBe(
      'x-gateway-destination-endpoint',
    );
    expect(Object.keys(clusters).sort()).toEqual(['kvroute_pods', 'kvroute_router', 'vllm_pool']);
    expect(text).toContain('[":path"] = "/v1/route"');
    // The client's own header is dropped before routing.
    expect(text).toContain('headers:remove("x-gateway-destination-endpoint")');
  });
});
