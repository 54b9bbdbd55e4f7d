// An OAuth 2.0 provider with DPoP (RFC 9449) on loopback for the auth-rs conformance suite:
// the npm `oidc-provider` package with `features.dPoP` enabled. Started by the Rust test as
// `node oidc_provider_dpop.mjs <node_modules dir> <plain|nonce>`: with `nonce`, every DPoP
// proof must carry a server nonce (`nonceSecret` set, `requireNonce` true); with `plain`, the
// provider has no nonces at all. Listens on 127.0.0.1 on a free port and prints one JSON
// line, {"issuer": "..."}, once it is ready. Exits when its stdin closes.
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.argv[2];
const nonces = process.argv[3] === 'nonce';
const { default: Provider } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const RESOURCE = 'https://api.example';
const dPoP = nonces
  ? { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true }
  : { enabled: true };
const config = {
  clients: [
    {
      client_id: 'auth-rs-dpop',
      client_secret: 'auth-rs-dpop-secret-0123456789abcdef',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read',
    },
    {
      // A public client: its refresh tokens are bound to its DPoP key too.
      client_id: 'auth-rs-dpop-public',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'none',
      scope: 'openid offline_access api:read',
    },
    {
      client_id: 'resource-server',
      client_secret: 'resource-server-secret-0123456789abcdef',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  scopes: ['openid', 'offline_access', 'api:read'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    devInteractions: { enabled: true },
    dPoP,
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => ({
        scope: 'api:read',
        audience: resource,
        accessTokenTTL: 600,
        accessTokenFormat: 'opaque',
      }),
    },
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  pkce: { required: () => true },
  ttl: { ClientCredentials: 600, AccessToken: 600, RefreshToken: 3600, Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60 },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    return undefined;
  },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, config);
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
