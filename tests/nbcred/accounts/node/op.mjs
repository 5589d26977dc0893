// An OpenID Provider for the sign-in tests: panva's oidc-provider, in memory, on 127.0.0.1.
// usage: node op.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI...]
// Any login name signs in; <name>@example.edu is its address; a name starting "staff" has roles ["staff"].
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, ...redirects] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId, client_secret: clientSecret, redirect_uris: redirects,
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'roles'] },
  conformIdTokenClaims: false, // the ID token carries the scopes' claims (nbcred reads them there)
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return {
        sub: id, email: `${id}@example.edu`, email_verified: true, name: `Person ${id}`,
        roles: id.startsWith('staff') ? ['staff'] : ['student'],
      };
    },
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['nbcred-test-op-cookie-key'] },
  ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 120, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
