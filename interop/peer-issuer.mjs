// A peer issuer for side-by-side load figures: the pre-authorized code flow built on the issuer
// side of @openid4vc/openid4vci and @openid4vc/oauth2 (0.4.6) with SD-JWT VC from @sd-jwt/sd-jwt-vc,
// on node:http, answering the same requests `segl-bench issue` sends to `segl serve`:
//   POST /admin/v1/offers (bearer PEER_ADMIN_TOKEN)  an offer with a pre-authorized code and tx_code
//   POST /{tenant}/token                            the library checks the grant; a signed JWT access token
//   POST /{tenant}/nonce                            a c_nonce
//   POST /{tenant}/credential                       the access token (JWT, ES256) checked, the request
//                                                   parsed and every jwt proof verified by the library,
//                                                   the nonce consumed, one SD-JWT VC per proof
//   GET  /ready                                     200
// What it does not do, unlike Segl: no database (offers, tokens and nonces live in memory), no
// status list entry, no x5c certificate chain in the credential, one process on one core (node).
// Usage: PEER_PORT=18600 PEER_ADMIN_TOKEN=... node interop/peer-issuer.mjs (PEER_DEBUG=1 logs refusals)
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto'
import { createServer } from 'node:http'
import { HashAlgorithm, Oauth2AuthorizationServer, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2'
import { Openid4vciIssuer, Openid4vciVersion, setGlobalConfig } from '@openid4vc/openid4vci'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { jwtVerify } from 'jose'

setGlobalConfig({ allowInsecureUrls: true })

const port = Number(process.env.PEER_PORT ?? 18600)
const adminToken = process.env.PEER_ADMIN_TOKEN ?? 'peer-admin-token'
const base = `http://127.0.0.1:${port}`
const tenant = 'default'
const issuerId = `${base}/${tenant}`
const configurationId = 'eu.europa.ec.eudi.pid_vc_sd_jwt'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
const issuerJwk = { kty, crv, x, y }
const b64url = (bytes) => Buffer.from(bytes).toString('base64url')
const hashNames = { [HashAlgorithm.Sha256]: 'sha256', [HashAlgorithm.Sha384]: 'sha384', [HashAlgorithm.Sha512]: 'sha512' }

const callbacks = {
  hash: (data, alg) => new Uint8Array(createHash(hashNames[alg]).update(data).digest()),
  generateRandom: (length) => new Uint8Array(randomBytes(length)),
  clientAuthentication: () => {},
  signJwt: async (_signer, { header, payload }) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
    return { jwt: `${input}.${b64url(signature)}`, signerJwk: issuerJwk }
  },
  verifyJwt: async (signer, { compact }) => {
    const jwk = signer.publicJwk
    if (!jwk) return { verified: false }
    const [h, p, s] = compact.split('.')
    const key = createPublicKey({ key: jwk, format: 'jwk' })
    const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
    return ok ? { verified: true, signerJwk: jwk } : { verified: false }
  },
}

const authorizationServerMetadata = {
  issuer: issuerId,
  token_endpoint: `${issuerId}/token`,
  'pre-authorized_grant_anonymous_access_supported': true,
}
const credentialIssuerMetadata = {
  credential_issuer: issuerId,
  credential_endpoint: `${issuerId}/credential`,
  nonce_endpoint: `${issuerId}/nonce`,
  credential_configurations_supported: {
    [configurationId]: {
      format: 'dc+sd-jwt',
      vct: 'urn:eudi:pid:1',
      cryptographic_binding_methods_supported: ['jwk'],
      credential_signing_alg_values_supported: ['ES256'],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
      batch_credential_issuance: { batch_size: 30 },
    },
  },
  batch_credential_issuance: { batch_size: 30 },
}
const authorizationServer = new Oauth2AuthorizationServer({ callbacks })
const issuer = new Openid4vciIssuer({ callbacks })
const issuerMetadata = {
  originalDraftVersion: Openid4vciVersion.V1,
  credentialIssuer: credentialIssuerMetadata,
  authorizationServers: [authorizationServerMetadata],
  knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuerMetadata),
}
const sdJwt = new SDJwtVcInstance({
  signer: async (data) => b64url(sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  signAlg: 'ES256',
  hasher: (data, alg) => new Uint8Array(createHash(alg.replace('-', '')).update(data).digest()),
  hashAlg: 'sha-256',
  saltGenerator: () => b64url(randomBytes(16)),
})

// In memory: offers by pre-authorized code, nonces with their expiry.
const offers = new Map()
const nonces = new Map()
const random = () => b64url(randomBytes(32))

function pidPayload(claims) {
  return {
    given_name: claims.given_name,
    family_name: claims.family_name,
    birthdate: claims.birth_date,
    place_of_birth: claims.birth_place,
    nationalities: claims.nationality,
    address: {
      street_address: `${claims.resident_street} ${claims.resident_house_number}`,
      postal_code: claims.resident_postal_code,
      locality: claims.resident_city,
      country: claims.resident_country,
    },
    issuing_authority: claims.issuing_authority,
    issuing_country: claims.issuing_country,
  }
}

const frame = {
  _sd: ['given_name', 'family_name', 'birthdate', 'place_of_birth', 'nationalities', 'address', 'issuing_authority', 'issuing_country'],
}

function requestLike(req, url) {
  return { method: req.method, url, headers: new Headers(Object.entries(req.headers).map(([k, v]) => [k, String(v)])) }
}

async function offer(req, body) {
  if (req.headers.authorization !== `Bearer ${adminToken}`) return [401, { error: 'invalid_token' }]
  const request = JSON.parse(body)
  const code = random()
  const txCode = String(randomBytes(4).readUInt32BE() % 1_000_000).padStart(6, '0')
  const { credentialOfferObject } = await issuer.createCredentialOffer({
    issuerMetadata,
    credentialConfigurationIds: request.credential_configuration_ids,
    grants: {
      [preAuthorizedCodeGrantIdentifier]: { 'pre-authorized_code': code, tx_code: { input_mode: 'numeric', length: 6 } },
    },
  })
  offers.set(code, { claims: request.claims, txCode, expiresAt: new Date(Date.now() + 900_000), redeemed: false })
  return [201, { credential_offer: credentialOfferObject, tx_code: txCode }]
}

async function token(req, body) {
  const accessTokenRequest = Object.fromEntries(new URLSearchParams(body))
  const request = requestLike(req, `${issuerId}/token`)
  const parsed = authorizationServer.parseAccessTokenRequest({ request, accessTokenRequest })
  const code = parsed.grant?.preAuthorizedCode
  const stored = offers.get(code)
  if (!stored || stored.redeemed) return [400, { error: 'invalid_grant' }]
  await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
    authorizationServerMetadata,
    grant: parsed.grant,
    accessTokenRequest: parsed.accessTokenRequest,
    request,
    expectedPreAuthorizedCode: code,
    expectedTxCode: stored.txCode,
    preAuthorizedCodeExpiresAt: stored.expiresAt,
  })
  stored.redeemed = true
  const response = await authorizationServer.createAccessTokenResponse({
    audience: issuerId,
    authorizationServer: issuerId,
    expiresInSeconds: 600,
    subject: code,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: issuerJwk },
  })
  return [200, response]
}

function nonce() {
  const cNonce = random()
  nonces.set(cNonce, Date.now() + 300_000)
  return [200, issuer.createNonceResponse({ cNonce, cNonceExpiresIn: 300 })]
}

async function credential(req, body) {
  const authorization = req.headers.authorization ?? ''
  if (!authorization.startsWith('Bearer ')) return [401, { error: 'invalid_token' }]
  let subject
  try {
    const { payload } = await jwtVerify(authorization.slice(7), publicKey, { issuer: issuerId, audience: issuerId })
    subject = payload.sub
  } catch {
    return [401, { error: 'invalid_token' }]
  }
  const stored = offers.get(subject)
  const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: JSON.parse(body) })
  const proofs = parsed.proofs?.jwt ?? []
  if (!stored || proofs.length === 0) return [400, { error: 'invalid_credential_request' }]
  const holderKeys = []
  for (const jwt of proofs) {
    const verified = await issuer.verifyCredentialRequestJwtProof({ issuerMetadata, jwt })
    holderKeys.push(verified)
  }
  const proofNonce = holderKeys[0].payload.nonce
  const expiry = nonces.get(proofNonce)
  if (!expiry || expiry < Date.now() || holderKeys.some((k) => k.payload.nonce !== proofNonce)) {
    return [400, { error: 'invalid_nonce' }]
  }
  nonces.delete(proofNonce)
  const now = Math.floor(Date.now() / 1000)
  const credentials = []
  for (const key of holderKeys) {
    const issued = await sdJwt.issue(
      { iss: issuerId, iat: now, exp: now + 14 * 86_400, vct: 'urn:eudi:pid:1', cnf: { jwk: key.signer.publicJwk }, ...pidPayload(stored.claims) },
      frame,
      { header: { typ: 'dc+sd-jwt' } },
    )
    credentials.push({ credential: issued })
  }
  return [200, issuer.createCredentialResponse({ credentialRequest: parsed, credentials, notificationId: random() })]
}

const routes = {
  'POST /admin/v1/offers': offer,
  [`POST /${tenant}/token`]: token,
  [`POST /${tenant}/nonce`]: nonce,
  [`POST /${tenant}/credential`]: credential,
  'GET /ready': () => [200, { ready: true }],
}

createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', async () => {
    const route = routes[`${req.method} ${req.url}`]
    let status = 404
    let answer = { error: 'not_found' }
    try {
      if (route) [status, answer] = await route(req, Buffer.concat(chunks).toString())
    } catch (error) {
      if (process.env.PEER_DEBUG) console.error(error)
      status = 400
      answer = { error: error.errorResponse?.error ?? 'invalid_request', error_description: String(error.message ?? error) }
    }
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(answer))
  })
}).listen(port, '127.0.0.1', () => console.log(`peer issuer on ${base}`))
