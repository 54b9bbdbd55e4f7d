// An OpenID provider on loopback for auth-rs's relying-party cases: the npm `oidc-provider`
// package with ID tokens, userinfo, pushed authorization requests, a token exchange grant
// (RFC 8693, registered through `provider.registerGrantType`) and a `client_secret_jwt`
// client. Started by the Rust test as `node oidc_provider_oidc.mjs <node_modules dir>
// <plain|par>`: with `par`, the provider requires pushed authorization requests. Listens on
// 127.0.0.1 on a free port and prints one JSON line, {"issuer": "..."}, once it is ready.
// Exits when its stdin closes.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.argv[2];
const requirePar = process.argv[3] === 'par';
const { default: Provider, errors } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const config = {
  clients: [
    {
      client_id: 'auth-rs-oidc',
      client_secret: 'auth-rs-oidc-secret-0123456789abcdef',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid offline_access profile api:read',
    },
    {
      client_id: 'auth-rs-csjwt',
      client_secret: 'auth-rs-csjwt-secret-0123456789abcdef',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_jwt',
      scope: 'api:read',
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'api:read'],
  claims: { openid: ['sub'], profile: ['name'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: `User ${sub}` }),
  }),
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    devInteractions: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: requirePar },
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  pkce: { required: () => true },
  ttl: { ClientCredentials: 600, AccessToken: 600, RefreshToken: 3600, Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60, IdToken: 600, PushedAuthorizationRequest: 60 },
  loadExistingGrant: async (ctx) => {
    // Consent once, grant every requested scope and claim (test provider).
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    return undefined;
  },
};

// RFC 8693: an access token of this provider, for one audience, becomes an access token of
// the same user for the audience asked for.
async function tokenExchange(ctx) {
  const { subject_token: subjectToken, subject_token_type: subjectType, audience } = ctx.oidc.params;
  if (subjectType !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('only access tokens are exchanged');
  }
  const subject = await ctx.oidc.provider.AccessToken.find(subjectToken);
  if (!subject || subject.isExpired) {
    throw new errors.InvalidGrant('subject token is not active');
  }
  const token = new ctx.oidc.provider.AccessToken({
    accountId: subject.accountId,
    client: ctx.oidc.client,
    grantId: subject.grantId,
    gty: 'token_exchange',
    scope: 'api:read',
  });
  if (audience) token.setAudience(audience);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, config);
  provider.proxy = false;
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchange,
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'audience', 'resource', 'requested_token_type', 'scope'],
    ['audience', 'resource'],
  );
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
