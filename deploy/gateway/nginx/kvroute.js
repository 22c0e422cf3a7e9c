// nginx JavaScript (njs) handler: asks the kvroute router where a request
// should go, then hands the request, body and all, to that model-server pod.
// auth_request cannot do this: its subrequest carries no body, and the router
// needs the prompt to find the pod holding its prefix.

// host:port with an IPv4 address, a bracketed IPv6 address or a DNS name.
// Anything else (a path, a scheme, spaces) is refused, so a bad router reply
// can never turn into an arbitrary proxy target.
const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):[0-9]{1,5}$/;

async function route(r) {
  let endpoint = '';
  // The body is in memory only when it fits client_body_buffer_size; a larger
  // one (written to a file) is routed by the fallback pool.
  const body = r.requestText;
  if (body !== undefined && body !== null) {
    try {
      const reply = await r.subrequest('/_kvroute/route', { method: 'POST', body: body });
      const header = reply.status === 200 ? reply.headersOut['x-gateway-destination-endpoint'] : '';
      if (header && ENDPOINT.test(header)) {
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

export default { route };
