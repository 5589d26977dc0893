// Wallet-side code nobody at nbcred wrote, driven against a live nbcred over HTTPS
// (tests/nbcred/wallet). Trusts the test CA through NODE_EXTRA_CA_CERTS; JSON-LD contexts come
// only from nbcred's bundled files, status lists are fetched from the server itself.
//
//   node wallet.mjs db OFFER_URI KEY VERSION [nonce|retry]
//        @digitalbazaar/oid4-client 5.10: KEY ed25519|p256 (did:key), VERSION detect|draft13
//   node wallet.mjs ts OFFER_URI KEY METHOD [TX_CODE]
//        @openid4vc/openid4vci 0.4.6: KEY ed25519|p256, METHOD key|jwk (did:key or did:jwk)
//   node wallet.mjs lcw EXCHANGE_URL SUITE VC [CHALLENGE]
//        the DCC wallet's DID authentication (@digitalcredentials/vc): SUITE ed2020|eddsa,
//        VC 1|2 (the presentation's context); CHALLENGE replaces the server's (a negative case)
//   node wallet.mjs verify FILE
//        Digital Bazaar's and DCC's verifiers, each with its Bitstring Status List check
// Each prints one JSON object.
import {createHash, generateKeyPairSync, randomBytes, sign as nodeSign} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {OID4Client, parseCredentialOfferUrl} from '@digitalbazaar/oid4-client';
import {Openid4vciClient} from '@openid4vc/openid4vci';
import {clientAuthenticationAnonymous} from '@openid4vc/oauth2';
import {SignJWT} from 'jose';
import * as dccVc from '@digitalcredentials/vc';
import {Ed25519Signature2020} from '@digitalcredentials/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from
  '@digitalcredentials/ed25519-verification-key-2020';
import {DataIntegrityProof as DccDataIntegrityProof} from '@digitalcredentials/data-integrity';
import {cryptosuite as dccEddsa} from '@digitalcredentials/eddsa-rdfc-2022-cryptosuite';
import {checkStatus as dccCheckStatus} from '@digitalcredentials/vc-bitstring-status-list';
import * as dbVc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {checkStatus as dbCheckStatus} from '@digitalbazaar/vc-bitstring-status-list';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', '..', '..', 'credentials', 'contexts');
const CONTEXT_FILES = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://www.w3.org/2018/credentials/v1': 'credentials-v1.jsonld',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json': 'ob-v3p0-extensions.json',
  'https://w3id.org/security/data-integrity/v2': 'data-integrity-v2.jsonld',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.jsonld',
  'https://w3id.org/security/suites/ed25519-2020/v1': 'ed25519-signature-2020-v1.jsonld',
};

// base58btc and multibase -------------------------------------------------------------------
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(bytes) {
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while(n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for(const b of bytes) {
    if(b !== 0) {
      break;
    }
    out = '1' + out;
  }
  return out;
}
const b64url = data => Buffer.from(data).toString('base64url');

// holder keys ---------------------------------------------------------------------------------
function holderKey(kind, method = 'key') {
  const curve = kind === 'p256' ? {type: 'ec', options: {namedCurve: 'P-256'}} :
    {type: 'ed25519', options: {}};
  const {publicKey, privateKey} = generateKeyPairSync(curve.type, curve.options);
  const jwk = publicKey.export({format: 'jwk'});
  let did;
  let kid;
  if(method === 'jwk') {
    const members = kind === 'p256' ? {crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y} :
      {crv: jwk.crv, kty: jwk.kty, x: jwk.x};
    did = `did:jwk:${b64url(JSON.stringify(members))}`;
    kid = `${did}#0`;
  } else {
    let raw;
    if(kind === 'p256') {
      const x = Buffer.from(jwk.x, 'base64url');
      const y = Buffer.from(jwk.y, 'base64url');
      raw = Buffer.concat([Buffer.from([0x80, 0x24, 2 + (y[31] & 1)]), x]);
    } else {
      raw = Buffer.concat([Buffer.from([0xed, 0x01]), Buffer.from(jwk.x, 'base64url')]);
    }
    const multibase = 'z' + base58(raw);
    did = `did:key:${multibase}`;
    kid = `${did}#${multibase}`;
  }
  const alg = kind === 'p256' ? 'ES256' : 'EdDSA';
  const signRaw = data => kind === 'p256' ?
    nodeSign('sha256', data, {key: privateKey, dsaEncoding: 'ieee-p1363'}) :
    nodeSign(null, data, privateKey);
  return {did, kid, alg, jwk, privateKey, signRaw, curve: kind === 'p256' ? 'P-256' : 'Ed25519'};
}

// OpenID4VCI wallets -----------------------------------------------------------------------
async function withDigitalBazaar(offerUri, kind, version, nonceMode = 'nonce') {
  const key = holderKey(kind);
  const offer = parseCredentialOfferUrl({url: offerUri});
  const client = await OID4Client.fromCredentialOffer({offer, oid4vciVersion: version});
  const didProofSigner = {
    id: key.kid, algorithm: key.curve, sign: async ({data}) => key.signRaw(data),
  };
  let nonce;
  if(nonceMode === 'nonce') {
    ({nonce} = await client.getNonce());
  }
  const result = await client.requestCredential({did: key.did, didProofSigner, nonce});
  return {holder: key.did, credential: result.credential ?? result.credentials?.[0],
    tokenRequestedDetails: client.authorizationDetails ?? null};
}

async function withOpenid4vc(offerUri, kind, method, txCode) {
  const key = holderKey(kind, method);
  const callbacks = {
    fetch: globalThis.fetch,
    clientAuthentication: clientAuthenticationAnonymous(),
    generateRandom: n => randomBytes(n),
    hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
    signJwt: async (signer, {header, payload}) => {
      const jwt = await new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
      return {jwt, signerJwk: key.jwk};
    },
  };
  const client = new Openid4vciClient({callbacks});
  const credentialOffer = await client.resolveCredentialOffer(offerUri);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const {accessTokenResponse} = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer, issuerMetadata, txCode,
  });
  const {c_nonce: nonce} = await client.requestNonce({issuerMetadata});
  const credentialConfigurationId = credentialOffer.credential_configuration_ids[0];
  const {jwt} = await client.createCredentialRequestJwtProof({
    issuerMetadata, credentialConfigurationId, nonce,
    signer: {method: 'did', didUrl: key.kid, alg: key.alg},
  });
  const response = await client.retrieveCredentials({
    issuerMetadata, credentialConfigurationId, proofs: {jwt: [jwt]},
    accessToken: accessTokenResponse.access_token,
  });
  return {holder: key.did, version: issuerMetadata.originalDraftVersion,
    credential: response.credentialResponse.credentials[0].credential};
}

// The DCC Learner Credential Wallet's exchange ---------------------------------------------
async function loader(url) {
  if(CONTEXT_FILES[url]) {
    const document = JSON.parse(readFileSync(join(contextsDir, CONTEXT_FILES[url]), 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: didKeyDocument(url)};
  }
  if(url.startsWith('https://')) { // status list credentials, from the server under test
    const response = await fetch(url, {headers: {accept: 'application/json'}});
    if(!response.ok) {
      throw new Error(`GET ${url}: ${response.status}`);
    }
    return {contextUrl: null, documentUrl: url, document: await response.json()};
  }
  throw new Error(`refusing to load ${url}`);
}

function didKeyDocument(url) {
  const did = url.split('#')[0];
  const multibase = did.slice('did:key:'.length);
  const method = {
    '@context': 'https://w3id.org/security/multikey/v1', id: `${did}#${multibase}`,
    type: 'Multikey', controller: did, publicKeyMultibase: multibase,
  };
  if(url.includes('#')) {
    return method;
  }
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: did, verificationMethod: [method], assertionMethod: [method.id],
    authentication: [method.id],
  };
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST', body: JSON.stringify(body),
    headers: {'content-type': 'application/json', accept: 'application/json'},
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch{}
  return {status: response.status, body: json ?? text};
}

async function learnerCredentialWallet(exchangeUrl, suiteName, version, challengeOverride) {
  const first = await postJson(exchangeUrl, {});
  if(first.status !== 200) {
    return {step: 'request', ...first};
  }
  const request = first.body.verifiablePresentationRequest;
  let did;
  let suite;
  if(suiteName === 'ed2020') {
    const key = await Ed25519VerificationKey2020.generate();
    did = `did:key:${key.fingerprint()}`;
    key.controller = did;
    key.id = `${did}#${key.fingerprint()}`;
    suite = new Ed25519Signature2020({key});
  } else {
    const key = await Ed25519Multikey.generate();
    did = `did:key:${key.publicKeyMultibase}`;
    key.controller = did;
    key.id = `${did}#${key.publicKeyMultibase}`;
    suite = new DccDataIntegrityProof({signer: key.signer(), cryptosuite: dccEddsa});
  }
  const presentation = dccVc.createPresentation({holder: did, version: Number(version)});
  const signed = await dccVc.signPresentation({
    presentation, suite, documentLoader: loader,
    challenge: challengeOverride ?? request.challenge, domain: request.domain,
  });
  const second = await postJson(exchangeUrl, {verifiablePresentation: signed});
  return {step: 'presentation', holder: did, request, presented: signed, ...second};
}

// Verifiers ---------------------------------------------------------------------------------
function errorsOf(error) {
  if(!error) {
    return [];
  }
  const list = Array.isArray(error) ? error : (error.errors ?? [error]);
  return list.map(e => String(e?.message ?? e));
}

async function verifyBoth(file) {
  const credential = JSON.parse(readFileSync(file, 'utf8'));
  const out = {};
  const db = await dbVc.verifyCredential({
    credential, documentLoader: loader,
    suite: new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
    checkStatus: options => dbCheckStatus({...options, verifyMatchingIssuers: true}),
  });
  out.digitalbazaar = {verified: db.verified, errors: errorsOf(db.error),
    status: db.statusResult ?? null};
  const dcc = await dccVc.verifyCredential({
    credential, documentLoader: loader,
    suite: new DccDataIntegrityProof({cryptosuite: dccEddsa}),
    checkStatus: options => dccCheckStatus({...options, verifyMatchingIssuers: true}),
  });
  out.dcc = {verified: dcc.verified, errors: errorsOf(dcc.error), status: dcc.statusResult ?? null};
  return out;
}

const [mode, ...args] = process.argv.slice(2);
let result;
try {
  if(mode === 'db') {
    result = await withDigitalBazaar(args[0], args[1], args[2], args[3]);
  } else if(mode === 'ts') {
    result = await withOpenid4vc(args[0], args[1], args[2], args[3]);
  } else if(mode === 'lcw') {
    result = await learnerCredentialWallet(args[0], args[1], args[2], args[3]);
  } else if(mode === 'verify') {
    result = await verifyBoth(args[0]);
  } else {
    console.error('usage: wallet.mjs db|ts|lcw|verify ...');
    process.exit(2);
  }
} catch(e) {
  const causes = [];
  for(let c = e; c; c = c.cause) {
    causes.push({name: c.name, message: String(c.message), status: c.status ?? c.response?.status,
      data: c.data ?? c.errorResponse ?? null});
  }
  console.log(JSON.stringify({error: causes}));
  process.exit(1);
}
console.log(JSON.stringify(result));
