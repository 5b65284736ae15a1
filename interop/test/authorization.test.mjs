// The authorization code flow with real parts: `segl serve` logs the person in at a real OpenID
// Connect provider (the npm package oidc-provider on loopback, with a test user whose claims look
// like a Danish MitID broker's), and a real wallet library (@openid4vc/openid4vci) does PAR, PKCE,
// the token request with DPoP, the nonce and the credential request. The login and consent forms
// are driven over HTTP with a cookie jar, as a browser would submit them. The issued SD-JWT VC must
// carry the upstream user's claims.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { after, test } from 'node:test'
import {
  clientAuthenticationClientAttestationJwt,
  clientAuthenticationNone,
  createClientAttestationJwt,
  Oauth2ClientErrorResponseError,
  resourceRequest,
} from '@openid4vc/oauth2'
import { CompactEncrypt, compactDecrypt, exportJWK, generateKeyPair, importJWK } from 'jose'
import Provider from 'oidc-provider'
import { freePort, spawnSegl } from '../lib/segl.mjs'
import { createWallet, holderKey, signEs256 } from '../lib/wallet.mjs'
import { verifySdJwtVc } from '../lib/verify.mjs'

const PID = 'eu.europa.ec.eudi.pid_vc_sd_jwt'
const WALLET_ID = 'interop-wallet'
const REDIRECT = 'https://wallet.example/callback'
const SUBSTANTIAL = 'https://data.gov.dk/concept/core/nsis/Substantial'

// What the MitID broker says about the test user (DD-MM-YYYY birth date, as some brokers send it).
const USER = {
  given_name: 'Freja',
  family_name: 'Nielsen',
  birthdate: '12-04-1990',
  loa: SUBSTANTIAL,
  'dk.cpr': '1204901234',
  place_of_birth: { country: 'DK', locality: 'Aarhus' },
  nationality: 'dk',
}

// The wallet provider whose attestations the `haip` tenant trusts.
const walletProvider = await holderKey()

// The upstream provider, on a loopback port, with RS256 ID tokens.
const providerPort = await freePort()
const seglPort = await freePort()
const providerUrl = `http://127.0.0.1:${providerPort}`
const seglUrl = `http://127.0.0.1:${seglPort}`
const clientSecret = randomBytes(24).toString('base64url')
const { privateKey } = await generateKeyPair('RS256', { extractable: true })
const signingKey = { ...(await exportJWK(privateKey)), kid: 'rs1', alg: 'RS256', use: 'sig' }
const provider = new Provider(providerUrl, {
  clients: [
    {
      client_id: 'segl',
      client_secret: clientSecret,
      redirect_uris: [`${seglUrl}/default/login/callback`, `${seglUrl}/haip/login/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  async findAccount(ctx, accountId) {
    return { accountId, claims: async () => ({ sub: accountId, ...USER }) }
  },
  claims: {
    openid: ['sub'],
    profile: ['given_name', 'family_name', 'birthdate'],
    mitid: ['loa', 'dk.cpr', 'place_of_birth', 'nationality'],
  },
  scopes: ['openid', 'profile', 'mitid'],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, pushedAuthorizationRequests: { enabled: true } },
})
provider.proxy = false
const providerServer = provider.listen(providerPort, '127.0.0.1')

// The wallet the tenants know and the upstream login they share (TOML, interpolated below).
const walletToml = `[[tenants.wallets]]
client_id = "${WALLET_ID}"
redirect_uris = ["${REDIRECT}"]
[tenants.scopes]
"${PID}" = "pid"
`
const loginToml = `[tenants.login]
issuer = "${providerUrl}"
client_id = "segl"
client_secret_env = "INTEROP_OIDC_SECRET"
scopes = ["openid", "profile", "mitid"]
loa_claim = "loa"
loa_values = { "${SUBSTANTIAL}" = "substantial", "https://data.gov.dk/concept/core/nsis/Low" = "low" }
min_loa = "substantial"
[[tenants.login.claims]]
from = "given_name"
to = "given_name"
[[tenants.login.claims]]
from = "family_name"
to = "family_name"
[[tenants.login.claims]]
from = "birthdate"
to = "birth_date"
transform = "dd-mm-yyyy"
[[tenants.login.claims]]
from = "place_of_birth"
to = "birth_place"
[[tenants.login.claims]]
from = "nationality"
to = "nationality"
transform = "uppercase-array"
`

/** The opening of a tenant's TOML block: both tenants require DPoP. */
const tenantToml = (id, name) => `[[tenants]]
id = "${id}"
name = { en = "${name}" }
issuing_country = "DK"
issuing_authority = "Segl interop"
dpop = "required"
`

// `segl serve` with a configuration written here: tenant `default` (DPoP required, one wallet, the provider
// as login) and tenant `haip` (also wallet attestation and encryption required).
const configDir = await mkdtemp(join(tmpdir(), 'segl-authcode-config-'))
const configPath = join(configDir, 'segl.toml')
await writeFile(
  configPath,
  `
${tenantToml('default', 'Segl interop')}[tenants.pid_vc_sd_jwt]
[tenants.proof_of_age]
${walletToml}${loginToml}

${tenantToml('haip', 'Segl HAIP interop')}client_attestation = "required"
[tenants.pid_vc_sd_jwt]
${walletToml}[[tenants.wallet_providers]]
name = "interop wallet provider"
jwk = { kty = "EC", crv = "P-256", x = "${walletProvider.publicJwk.x}", y = "${walletProvider.publicJwk.y}" }
[tenants.encryption]
request = "required"
response = "required"
enc = ["A256GCM"]
${loginToml}`,
)
const dataDir = await mkdtemp(join(tmpdir(), 'segl-authcode-'))
const adminToken = randomBytes(24).toString('base64url')
const segl = await spawnSegl({
  args: ['serve', '--config', configPath, '--data-dir', dataDir, '--listen', `127.0.0.1:${seglPort}`, '--public-url', seglUrl],
  extraEnv: { INTEROP_OIDC_SECRET: clientSecret, SEGL_ADMIN_TOKEN: adminToken },
  healthUrl: `${seglUrl}/health`,
  dataDir,
})
after(async () => {
  await segl.stop()
  providerServer.close()
})

/** A browser: follows redirects by hand, keeps cookies, submits the provider's login and consent forms. */
async function browse(startUrl, login = 'freja') {
  const cookies = new Map()
  let url = startUrl
  let method = 'GET'
  let body
  for (let step = 0; step < 20; step += 1) {
    if (url.startsWith(REDIRECT)) return new URL(url)
    const headers = { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded'
    const response = await fetch(url, { method, headers, body, redirect: 'manual' })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const index = pair.indexOf('=')
      cookies.set(pair.slice(0, index), pair.slice(index + 1))
    }
    method = 'GET'
    body = undefined
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location'), url).toString()
      continue
    }
    const html = await response.text()
    assert.equal(response.status, 200, `${url}: ${html.slice(0, 500)}`)
    const action = html.match(/<form[^>]*action="([^"]+)"/)
    assert.ok(action, `no form at ${url}: ${html.slice(0, 500)}`)
    const fields = new URLSearchParams()
    for (const input of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*>/g)) {
      const value = input[0].match(/value="([^"]*)"/)
      fields.set(input[1], value ? value[1] : '')
    }
    if (fields.has('login')) {
      fields.set('login', login)
      fields.set('password', 'any')
    }
    url = new URL(action[1].replaceAll('&amp;', '&'), url).toString()
    method = 'POST'
    body = fields.toString()
  }
  throw new Error(`no redirect to the wallet after 20 steps (at ${url})`)
}

/** The wallet's side up to the code: metadata, PAR (by the library), the login; the redirect's parameters. */
async function authorize(wallet) {
  const issuerMetadata = await wallet.client.resolveIssuerMetadata(`${seglUrl}/default`)
  // The authority's offer of the code flow, resolved by reference as a wallet scanning its QR code
  // does; the library sends its issuer_state back at PAR.
  const response = await fetch(`${seglUrl}/admin/v1/tenants/default/offers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ credential_configuration_ids: [PID], grant: 'authorization_code' }),
  })
  const created = await response.json()
  assert.equal(response.status, 201, JSON.stringify(created))
  const credentialOffer = await wallet.client.resolveCredentialOffer(created.offer_uri)
  assert.deepEqual(Object.keys(credentialOffer.grants), ['authorization_code'])
  assert.equal(credentialOffer.grants.authorization_code.issuer_state, created.credential_offer.grants.authorization_code.issuer_state)
  const started = await wallet.client.initiateAuthorization({
    clientId: WALLET_ID,
    issuerMetadata,
    credentialOffer,
    scope: issuerMetadata.credentialIssuer.credential_configurations_supported[PID].scope,
    redirectUri: REDIRECT,
  })
  assert.match(started.authorizationRequestUrl, /\/default\/authorize\?.*request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A/)
  const redirect = await browse(started.authorizationRequestUrl)
  return { issuerMetadata, credentialOffer, pkce: started.pkce, redirect }
}

/** A fresh DPoP key, as the library's `dpop` option. */
async function newDpop(wallet) {
  const key = await wallet.newKey()
  return { signer: { method: 'jwk', alg: 'ES256', publicJwk: key.publicJwk } }
}

/** The library's token request for an authorization code, bound to `dpop`. */
function exchangeCode(wallet, { issuerMetadata, credentialOffer, code, pkce, dpop }) {
  return wallet.client.retrieveAuthorizationCodeAccessTokenFromOffer({
    issuerMetadata,
    credentialOffer,
    authorizationCode: code,
    pkceCodeVerifier: pkce.codeVerifier,
    redirectUri: REDIRECT,
    dpop,
  })
}

/** A fresh holder key and the library's proof of it over a fresh `c_nonce`. */
async function holderProof(wallet, issuerMetadata) {
  const holder = await wallet.newKey()
  const { c_nonce: nonce } = await wallet.client.requestNonce({ issuerMetadata })
  const { jwt } = await wallet.client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: PID,
    nonce,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
  })
  return { holder, jwt }
}

test('a wallet gets a PID with the upstream login claims through PAR, PKCE and DPoP', async () => {
  const wallet = createWallet({ clientAuthentication: clientAuthenticationNone({ clientId: WALLET_ID }) })
  const { issuerMetadata, credentialOffer, pkce, redirect } = await authorize(wallet)
  assert.equal(redirect.searchParams.get('iss'), `${seglUrl}/default`)
  const code = redirect.searchParams.get('code')
  assert.ok(code, redirect.toString())

  const dpop = await newDpop(wallet)
  const { accessTokenResponse, dpop: tokenDpop } = await exchangeCode(wallet, { issuerMetadata, credentialOffer, code, pkce, dpop })
  assert.equal(accessTokenResponse.token_type, 'DPoP')

  const { holder, jwt } = await holderProof(wallet, issuerMetadata)
  const { credentialResponse } = await wallet.client.retrieveCredentials({
    issuerMetadata,
    credentialConfigurationId: PID,
    accessToken: accessTokenResponse.access_token,
    proofs: { jwt: [jwt] },
    dpop: { ...dpop, nonce: tokenDpop?.nonce },
  })
  const compact = credentialResponse.credentials[0].credential
  const { payload } = await verifySdJwtVc(compact, await readFile(join(dataDir, 'tenants/default/ca.pem'), 'utf8'))
  assert.equal(payload.given_name, 'Freja')
  assert.equal(payload.family_name, 'Nielsen')
  assert.equal(payload.birthdate, '1990-04-12')
  assert.deepEqual(payload.nationalities, ['DK'])
  assert.equal(payload.cnf.jwk.x, holder.publicJwk.x)
  // The CPR number the provider released is not mapped, so it is in no credential.
  assert.ok(!compact.includes('1204901234'))
  assert.ok(!segl.output().includes('1204901234'), 'the CPR number reached the log')
})

test('rejects a reused authorization code and revokes the token it gave', async () => {
  const wallet = createWallet({ clientAuthentication: clientAuthenticationNone({ clientId: WALLET_ID }) })
  const { issuerMetadata, credentialOffer, pkce, redirect } = await authorize(wallet)
  const code = redirect.searchParams.get('code')
  const dpop = await newDpop(wallet)
  const exchange = () => exchangeCode(wallet, { issuerMetadata, credentialOffer, code, pkce, dpop })
  const first = await exchange()
  await assert.rejects(exchange(), (error) => {
    assert.ok(error instanceof Oauth2ClientErrorResponseError, String(error))
    assert.equal(error.errorResponse.error, 'invalid_grant')
    assert.equal(
      error.errorResponse.error_description,
      'authorization code already used; the tokens issued from it are revoked',
    )
    return true
  })
  const { jwt } = await holderProof(wallet, issuerMetadata)
  await assert.rejects(
    wallet.client.retrieveCredentials({
      issuerMetadata,
      credentialConfigurationId: PID,
      accessToken: first.accessTokenResponse.access_token,
      proofs: { jwt: [jwt] },
      dpop: { ...dpop, nonce: first.dpop?.nonce },
    }),
    (error) => {
      assert.match(String(error.message ?? error), /401|invalid_token/)
      return true
    },
  )
})

test('HAIP: PAR and token with wallet attestation, the login, DPoP, an encrypted credential request and response', async () => {
  // The wallet instance: its key, attested by the wallet provider; the library authenticates
  // with the attestation and a PoP at PAR and at the token endpoint.
  let authenticate
  const wallet = createWallet({ clientAuthentication: (options) => authenticate(options) })
  const instance = await wallet.newKey()
  const signAsWalletProvider = async (signer, { header, payload }) => ({
    jwt: await signEs256(walletProvider.privateKey, header, payload),
    signerJwk: walletProvider.publicJwk,
  })
  const attestation = await createClientAttestationJwt({
    issuer: 'https://wallet-provider.example',
    clientId: WALLET_ID,
    confirmation: { jwk: instance.publicJwk },
    expiresAt: new Date(Date.now() + 3600_000),
    callbacks: { ...wallet.callbacks, signJwt: signAsWalletProvider },
    signer: { method: 'jwk', alg: 'ES256', publicJwk: walletProvider.publicJwk },
  })
  authenticate = clientAuthenticationClientAttestationJwt({ clientAttestationJwt: attestation, callbacks: wallet.callbacks })

  const issuerMetadata = await wallet.client.resolveIssuerMetadata(`${seglUrl}/haip`)
  const credentialOffer = { credential_issuer: `${seglUrl}/haip`, credential_configuration_ids: [PID], grants: { authorization_code: {} } }
  const started = await wallet.client.initiateAuthorization({
    clientId: WALLET_ID,
    issuerMetadata,
    credentialOffer,
    scope: 'pid',
    redirectUri: REDIRECT,
  })
  const redirect = await browse(started.authorizationRequestUrl)
  const code = redirect.searchParams.get('code')
  assert.ok(code, redirect.toString())

  const dpop = await newDpop(wallet)
  const { accessTokenResponse, dpop: tokenDpop } = await exchangeCode(wallet, {
    issuerMetadata,
    credentialOffer,
    code,
    pkce: started.pkce,
    dpop,
  })
  assert.equal(accessTokenResponse.token_type, 'DPoP')

  // The credential request, encrypted (jose: the library has no JWE) to the key the metadata
  // publishes, asking for the response encrypted to a fresh wallet key; sent by the library's
  // DPoP resource request.
  const { holder, jwt } = await holderProof(wallet, issuerMetadata)
  const responseKey = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
  const issuerKey = issuerMetadata.credentialIssuer.credential_request_encryption.jwks.keys[0]
  const request = {
    credential_configuration_id: PID,
    proofs: { jwt: [jwt] },
    credential_response_encryption: { jwk: { ...(await exportJWK(responseKey.publicKey)), alg: 'ECDH-ES' }, enc: 'A256GCM' },
  }
  const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(request)))
    .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: issuerKey.kid })
    .encrypt(await importJWK(issuerKey, 'ECDH-ES'))
  const answer = await resourceRequest({
    dpop: { ...dpop, nonce: tokenDpop?.nonce },
    callbacks: wallet.callbacks,
    accessToken: accessTokenResponse.access_token,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: jwe },
  })
  const text = await answer.response.text()
  assert.equal(answer.response.status, 200, text)
  assert.equal(answer.response.headers.get('content-type'), 'application/jwt')
  const { plaintext } = await compactDecrypt(text, responseKey.privateKey)
  const response = JSON.parse(new TextDecoder().decode(plaintext))
  const compact = response.credentials[0].credential
  const { payload } = await verifySdJwtVc(compact, await readFile(join(dataDir, 'tenants/haip/ca.pem'), 'utf8'))
  assert.equal(payload.given_name, 'Freja')
  assert.equal(payload.cnf.jwk.x, holder.publicJwk.x)

  // The same request in plaintext is refused: the tenant requires encryption.
  const plain = await resourceRequest({
    dpop: { ...dpop, nonce: answer.dpop?.nonce ?? tokenDpop?.nonce },
    callbacks: wallet.callbacks,
    accessToken: accessTokenResponse.access_token,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) },
  })
  assert.equal(plain.response.status, 400)
  assert.equal((await plain.response.json()).error, 'invalid_encryption_parameters')
})
