// An OAuth 2.0 / OpenID provider on loopback for the auth-rs conformance suite: the npm
// `oidc-provider` package with a test configuration. Started by the Rust test as
// `node oidc_provider.mjs <node_modules dir> <jwks json>`, the JWKS being the public keys of
// the `private_key_jwt` client `auth-rs-pkjwt`; listens on 127.0.0.1 on a free port and prints
// one JSON line, {"issuer": "..."}, once it is ready. Exits when its stdin closes.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.argv[2];
const clientJwks = JSON.parse(process.argv[3] || '{"keys":[]}');
const { default: Provider } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const RESOURCE = 'https://api.example';
// Tokens for this resource are RFC 9068 JWTs signed with the provider's keys.
const JWT_RESOURCE = 'https://jwt-api.example';
const config = {
  clients: [
    {
      client_id: 'auth-rs',
      client_secret: 'auth-rs-client-secret-0123456789abcdef',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid offline_access api:read',
    },
    {
      client_id: 'auth-rs-pkjwt',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: clientJwks,
      scope: 'api:read',
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
    revocation: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx) => (ctx.oidc.client?.clientId === 'auth-rs-pkjwt' ? JWT_RESOURCE : RESOURCE),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => ({
        scope: 'api:read',
        audience: resource,
        accessTokenTTL: 600,
        accessTokenFormat: resource === JWT_RESOURCE ? 'jwt' : 'opaque',
      }),
    },
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  pkce: { required: () => true },
  ttl: { ClientCredentials: 600, AccessToken: 600, RefreshToken: 3600, Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60 },
  loadExistingGrant: async (ctx) => {
    // Consent once, grant every requested scope and the resource (test provider).
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
