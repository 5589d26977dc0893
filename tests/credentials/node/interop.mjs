// Independent eddsa-rdfc-2022 signer/verifier (Digital Bazaar libraries) for nbcred's
// interoperability test. Contexts come only from nbcred's bundled files: no network.
//
//   node interop.mjs verify FILE...                     -> one JSON line per file (proof only)
//   node interop.mjs verify-vc LISTS FILE...            -> one JSON line per file: the whole
//        @digitalbazaar/vc verifyCredential with @digitalbazaar/vc-bitstring-status-list's
//        checkStatus (status list credentials from LISTS, a JSON object {url: file}); a CLR's
//        embedded credentials are verified one by one (their 1EdTechRevocationList status is
//        checked by checkRevocationList below: Digital Bazaar has no implementation of it)
//   node interop.mjs sign FILE KEYFILE CREATED           -> signed credential (JSON)
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import jsigs from 'jsonld-signatures';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {checkStatus, decodeList} from '@digitalbazaar/vc-bitstring-status-list';

const {purposes: {AssertionProofPurpose}} = jsigs;
const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = process.env.NBCRED_CONTEXTS ?? join(here, '..', '..', '..', 'credentials', 'contexts');

const CONTEXT_FILES = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://www.w3.org/ns/credentials/examples/v2': 'credentials-examples-v2.jsonld',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json': 'ob-v3p0-context-3.0.1.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json': 'ob-v3p0-context-3.0.2.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json': 'ob-v3p0-extensions.json',
  'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json': 'clr-v2p0-context-2.0.1.json',
  'https://w3id.org/security/data-integrity/v2': 'data-integrity-v2.jsonld',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.jsonld',
  'https://w3id.org/security/suites/ed25519-2020/v1': 'ed25519-signature-2020-v1.jsonld',
};

const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

function didKeyDocument(url) {
  const did = url.split('#')[0];
  const multibase = did.slice('did:key:'.length);
  const method = {
    '@context': MULTIKEY_CONTEXT,
    id: `${did}#${multibase}`,
    type: 'Multikey',
    controller: did,
    publicKeyMultibase: multibase,
  };
  if(url.includes('#')) {
    return method;
  }
  return {
    '@context': ['https://www.w3.org/ns/did/v1', MULTIKEY_CONTEXT],
    id: did,
    verificationMethod: [method],
    assertionMethod: [method.id],
    authentication: [method.id],
  };
}

let statusLists = {};

async function documentLoader(url) {
  if(statusLists[url]) {
    const document = JSON.parse(readFileSync(statusLists[url], 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  }
  if(CONTEXT_FILES[url]) {
    const document = JSON.parse(readFileSync(join(contextsDir, CONTEXT_FILES[url]), 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: didKeyDocument(url)};
  }
  throw new Error(`refusing to load ${url}: not bundled`);
}

async function verify(files) {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  for(const file of files) {
    const credential = JSON.parse(readFileSync(file, 'utf8'));
    const result = await jsigs.verify(credential, {
      suite, purpose: new AssertionProofPurpose(), documentLoader,
    });
    const errors = (result.error?.errors ?? (result.error ? [result.error] : []))
      .map(e => String(e.message ?? e));
    console.log(JSON.stringify({file, verified: result.verified, errors}));
  }
}

function errorsOf(error) {
  if(!error) {
    return [];
  }
  const list = Array.isArray(error) ? error : (error.errors ?? [error]);
  return list.map(e => String(e?.message ?? e));
}

// What the status list says at the entry, read with Digital Bazaar's decoder: `bit` is what
// vc-bitstring-status-list reports (the single bit at statusListIndex); `value` is the entry of
// `statusSize` bits at statusListIndex * statusSize, as the specification reads it.
async function statusValues(results) {
  const out = [];
  for(const {credentialStatus: entry, status} of results ?? []) {
    const size = entry.statusSize ?? 1;
    const index = parseInt(entry.statusListIndex, 10);
    const {document: listCredential} = await documentLoader(entry.statusListCredential);
    const list = await decodeList({encodedList: listCredential.credentialSubject.encodedList});
    let value = 0;
    for(let k = 0; k < size; k++) {
      value = (value << 1) | (list.getStatus(index * size + k) ? 1 : 0);
    }
    const message = (entry.statusMessage ?? [])
      .find(m => parseInt(m.status, 16) === value)?.message ?? null;
    out.push({purpose: entry.statusPurpose, index, bit: status, value, message});
  }
  return out;
}

// The 1EdTech Revocation List Status Method (credentials embedded in a CLR): Digital Bazaar has
// no implementation of it, so this checks it as the method says: the document at the entry's id
// (from LISTS) lists the credential's id when it is revoked. `revocation` is what it found.
async function checkRevocationList({credential}) {
  const entry = credential.credentialStatus;
  const {document: list} = await documentLoader(entry.id);
  const issuer = credential.issuer?.id ?? credential.issuer;
  if(list.id !== entry.id || list.issuer !== issuer || !Array.isArray(list.revokedCredentials)) {
    return {verified: false, error: new Error(`${entry.id} is not this issuer's revocation list`)};
  }
  const found = list.revokedCredentials.find(item => item.id === credential.id);
  return {verified: !found, revocation: found ? found.revocationReason ?? 'revoked' : null};
}

function statusChecker(options) {
  if(options.credential.credentialStatus?.type === '1EdTechRevocationList') {
    return checkRevocationList(options);
  }
  return checkStatus({...options, verifyMatchingIssuers: true});
}

async function verifyOne(credential) {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, checkStatus: statusChecker,
  });
  const line = {
    verified: result.verified,
    errors: errorsOf(result.error),
    statusVerified: result.statusResult?.verified ?? null,
    status: await statusValues(result.statusResult?.results),
  };
  if(result.statusResult && 'revocation' in result.statusResult) {
    line.revocation = result.statusResult.revocation;
    line.proofVerified = (result.results ?? []).every(r => r.verified);
  }
  const embedded = credential.type?.includes('ClrCredential') ?
    credential.credentialSubject?.verifiableCredential ?? [] : null;
  if(embedded) {
    line.embedded = [];
    for(const inner of embedded) {
      line.embedded.push({id: inner.id, ...await verifyOne(inner)});
    }
  }
  return line;
}

async function verifyVc(listsFile, files) {
  statusLists = JSON.parse(readFileSync(listsFile, 'utf8'));
  for(const file of files) {
    const credential = JSON.parse(readFileSync(file, 'utf8'));
    let line;
    try {
      line = await verifyOne(credential);
    } catch(e) {
      line = {verified: false, errors: errorsOf(e), status: []};
    }
    console.log(JSON.stringify({file, ...line}));
  }
}

async function sign(file, keyFile, created) {
  const credential = JSON.parse(readFileSync(file, 'utf8'));
  const keyData = JSON.parse(readFileSync(keyFile, 'utf8'));
  const did = `did:key:${keyData.publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.from({
    '@context': MULTIKEY_CONTEXT,
    type: 'Multikey',
    id: `${did}#${keyData.publicKeyMultibase}`,
    controller: did,
    publicKeyMultibase: keyData.publicKeyMultibase,
    secretKeyMultibase: keyData.secretKeyMultibase ?? keyData.privateKeyMultibase,
  });
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), cryptosuite: eddsaRdfc2022, date: created,
  });
  const signed = await jsigs.sign(credential, {
    suite, purpose: new AssertionProofPurpose(), documentLoader,
  });
  console.log(JSON.stringify(signed, null, 2));
}

const [mode, ...args] = process.argv.slice(2);
if(mode === 'verify') {
  await verify(args);
} else if(mode === 'verify-vc') {
  await verifyVc(args[0], args.slice(1));
} else if(mode === 'sign') {
  await sign(...args);
} else {
  console.error('usage: interop.mjs verify FILE... | verify-vc LISTS FILE... | sign FILE KEYFILE CREATED');
  process.exit(2);
}
