// nginx JavaScript (njs) handler: asks the kvroute router where a request
// should go, then hands the request, body and all, to that model-server pod.
// auth_request cannot do this: its subrequest carries no body, and the router
// needs the prompt to find the pod holding its prefix.

// The router names a pod by its address: an IPv4 literal, or an IPv6 literal
// in brackets, and a port. Only literals are accepted: proxy_pass with a
// variable resolves a name only through a `resolver` directive, and without
// one a name would fail the request (502) instead of reaching the fallback
// pool. Anything else (a name, a path, a scheme, spaces, a zone id) is
// refused, so a bad router reply can never turn into an arbitrary proxy target.
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp('^' + OCTET + '(\\.' + OCTET + '){3}$');
const HEX16 = /^[0-9A-Fa-f]{1,4}$/;
const HOST_PORT = /^(\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/;

function allHex16(groups) {
  for (let i = 0; i < groups.length; i++) if (!HEX16.test(groups[i])) return false;
  return true;
}

function isIpv6(text) {
  // An IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  if (text.indexOf('.') !== -1) {
    const colon = text.lastIndexOf(':');
    if (colon < 0 || !IPV4.test(text.slice(colon + 1))) return false;
    text = text.slice(0, colon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = text.split(':');
    return groups.length === 8 && allHex16(groups);
  }
  const groups = [];
  for (let i = 0; i < 2; i++) {
    if (halves[i] !== '') groups.push.apply(groups, halves[i].split(':'));
  }
  return groups.length <= 7 && allHex16(groups);
}

function isEndpoint(value) {
  const m = HOST_PORT.exec(value);
  if (!m) return false;
  const port = Number(m[4]);
  if (port < 1 || port > 65535) return false;
  return m[2] ? isIpv6(m[2]) : IPV4.test(m[3]);
}

async function route(r) {
  let endpoint = '';
  // The body is in memory only when it fits client_body_buffer_size; a larger
  // one (written to a file) is routed by the fallback pool.
  const body = r.requestText;
  if (body !== undefined && body !== null) {
    try {
      const reply = await r.subrequest('/_kvroute/route', { method: 'POST', body: body });
      const header = reply.status === 200 ? reply.headersOut['x-gateway-destination-endpoint'] : '';
      if (header && isEndpoint(header)) {
        endpoint = header;
      } else {
        r.warn('kvroute: router answered ' + reply.status + ' without a usable endpoint');
      }
    } catch (e) {
      r.warn('kvroute: router subrequest failed: ' + e);
    }
  } else {
    r.warn('kvroute: request body not in memory, using the fallback pool');
  }
  if (endpoint) {
    r.variables.kvroute_endpoint = endpoint;
    r.internalRedirect('@kvroute_pod');
  } else {
    r.internalRedirect('@kvroute_fallback');
  }
}

// isEndpoint is exported for the tests.
export default { route, isEndpoint };
