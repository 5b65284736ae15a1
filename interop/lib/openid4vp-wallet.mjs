// The presentation side of a wallet: credentials obtained from a real `segl serve` (OpenID4VCI, with
// the holder keys kept), answered to an `openid4vp://` request with @openid4vc/openid4vp's client
// (request by reference, the signed Request Object checked against its x5c, the response encrypted
// for direct_post.jwt and posted to response_uri). The presentations themselves are built by
// @sd-jwt/sd-jwt-vc (SD-JWT VC + KB-JWT) and @animo-id/mdoc (DeviceResponse over the OpenID4VP 1.0
// SessionTranscript), and are exported on their own so a test can post hand-made responses.
import { X509Certificate, webcrypto } from 'node:crypto'
import { HashAlgorithm, calculateJwkThumbprint } from '@openid4vc/oauth2'
import { Openid4vpClient, extractEncryptionJwkFromJwks } from '@openid4vc/openid4vp'
import { CompactEncrypt, importJWK } from 'jose'
import { digest } from '@sd-jwt/crypto-nodejs'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { DataItem, DeviceResponse, MDoc, cborEncode, parseIssuerSigned } from '@animo-id/mdoc'
import { obtainCredentials } from './flow.mjs'
import { checkChain } from './verify.mjs'

const { subtle } = webcrypto
const encoder = new TextEncoder()
const b64url = (bytes) => Buffer.from(bytes).toString('base64url')

const hashNames = {
  [HashAlgorithm.Sha256]: 'SHA-256',
  [HashAlgorithm.Sha384]: 'SHA-384',
  [HashAlgorithm.Sha512]: 'SHA-512',
}
const hash = async (data, alg) => {
  const name = hashNames[alg]
  if (!name) throw new Error(`unsupported hash ${alg}`)
  return new Uint8Array(await subtle.digest(name, data))
}

/**
 * Gets one credential of `configurationId` from a running `segl serve` (see segl.mjs) with
 * `claims`, through the OpenID4VCI pre-authorized code flow. Returns what a wallet stores: the
 * credential, its format and type (vct or doctype), and the holder key it is bound to.
 */
export async function issueCredential(segl, configurationId, claims) {
  const created = await segl.createOffer({ credential_configuration_ids: [configurationId], claims, tx_code: true })
  const result = await obtainCredentials({ offerUri: created.offer_uri, txCode: created.tx_code })
  const configuration = result.issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
  const [{ credential }] = result.credentialResponse.credentials
  return {
    configurationId,
    format: configuration.format,
    vct: configuration.vct,
    doctype: configuration.doctype,
    credential,
    key: result.keys[0],
  }
}

/** ES256 over `data` with a WebCrypto key, base64url r||s (what a JWS and @sd-jwt want). */
async function es256(privateKey, data) {
  const signature = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, encoder.encode(data))
  return b64url(new Uint8Array(signature))
}

/**
 * An SD-JWT VC presentation made by @sd-jwt/sd-jwt-vc: the disclosures `paths` (arrays of claim
 * names, e.g. `[['age_equal_or_over', '18']]`) select, and a KB-JWT with `aud`, `nonce` and `iat`
 * signed by the holder key. `kbPayload` overrides KB-JWT claims (for negative tests).
 */
export async function presentSdJwtVc({ credential, key }, { paths, audience, nonce, iat, kbPayload = {} }) {
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    kbSignAlg: 'ES256',
    kbSigner: (data) => es256(key.privateKey, data),
  })
  // A claim path selects its whole value: an array or object is disclosed with every element and
  // member under it (PID `nationalities` elements are selectively disclosable themselves).
  const claims = await sdjwt.getClaims(credential)
  const everything = (value) => {
    if (Array.isArray(value)) return Object.fromEntries(value.map((item, index) => [index, everything(item)]))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, everything(item)]))
    }
    return true
  }
  const frame = {}
  for (const path of paths) {
    let node = frame
    let value = claims
    path.forEach((name, index) => {
      if (typeof name !== 'string') throw new Error(`this wallet only selects claims by name, not ${name}`)
      value = value?.[name]
      if (index === path.length - 1) node[name] = everything(value)
      else node = node[name] = typeof node[name] === 'object' ? node[name] : {}
    })
  }
  return sdjwt.present(credential, frame, {
    kb: { payload: { iat: iat ?? Math.floor(Date.now() / 1000), aud: audience, nonce, ...kbPayload } },
  })
}

/**
 * The OpenID4VP 1.0 SessionTranscript (B.2.6.1) as @animo-id/mdoc wants it (a tagged DataItem):
 * `[null, null, ["OpenID4VPHandover", sha256(cbor([client_id, nonce, jwkThumbprint|null, response_uri]))]]`.
 * `jwkThumbprint` is the verifier encryption key's RFC 7638 thumbprint (bytes) for direct_post.jwt.
 */
export async function openid4vpSessionTranscript({ clientId, nonce, jwkThumbprint, responseUri }) {
  const info = cborEncode([clientId, nonce, jwkThumbprint ?? null, responseUri])
  const handover = ['OpenID4VPHandover', new Uint8Array(await subtle.digest('SHA-256', info))]
  return cborEncode(DataItem.fromData([null, null, handover]))
}

/** The @animo-id/mdoc callbacks for signing a DeviceResponse with a holder key (ES256 only). */
const mdocSigningContext = {
  crypto: {
    random: (length) => webcrypto.getRandomValues(new Uint8Array(length)),
    digest: async ({ digestAlgorithm, bytes }) => new Uint8Array(await subtle.digest(digestAlgorithm, bytes)),
    calculateEphemeralMacKeyJwk: () => {
      throw new Error('this wallet signs, it does not MAC')
    },
  },
  cose: {
    sign1: {
      sign: async ({ sign1, jwk }) => {
        const { data, alg } = sign1.getRawSigningData()
        if (alg !== 'ES256') throw new Error(`COSE alg ${alg} is not ES256`)
        const key = await subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
        return new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data))
      },
      verify: () => {
        throw new Error('the wallet does not verify')
      },
    },
    mac0: {
      sign: () => {
        throw new Error('deviceMac is not used here')
      },
      verify: () => {
        throw new Error('deviceMac is not used here')
      },
    },
  },
}

/**
 * A base64url DeviceResponse made by @animo-id/mdoc: the issued mdoc (`credential`, base64url
 * IssuerSigned) limited to `elements` (`[[namespace, element], ...]`), device-signed over
 * `sessionTranscriptBytes` with the holder key.
 */
export async function presentMdoc({ credential, doctype, key }, { elements, sessionTranscriptBytes }) {
  const issuerSigned = parseIssuerSigned(new Uint8Array(Buffer.from(credential, 'base64url')), doctype)
  const definition = {
    id: 'segl-interop',
    input_descriptors: [
      {
        id: doctype,
        format: { mso_mdoc: { alg: ['ES256'] } },
        constraints: {
          limit_disclosure: 'required',
          fields: elements.map(([namespace, element]) => ({
            path: [`$['${namespace}']['${element}']`],
            intent_to_retain: false,
          })),
        },
      },
    ],
  }
  const privateJwk = await subtle.exportKey('jwk', key.privateKey)
  const response = await DeviceResponse.from(new MDoc([issuerSigned]))
    .usingPresentationDefinition(definition)
    .usingSessionTranscriptBytes(sessionTranscriptBytes)
    .authenticateWithSignature(privateJwk, 'ES256')
    .sign(mdocSigningContext)
  return b64url(response.encode())
}

/** The held credential that answers one DCQL credential query, or undefined. */
function matchCredential(held, query) {
  return held.find((candidate) => {
    if (candidate.format !== query.format) return false
    if (query.format === 'dc+sd-jwt') return (query.meta?.vct_values ?? []).includes(candidate.vct)
    if (query.format === 'mso_mdoc') return query.meta?.doctype_value === candidate.doctype
    return false
  })
}

/** The claim paths a credential query asks for: the first claim set, or every claim. */
function requestedPaths(query) {
  const claims = query.claims ?? []
  if (!query.claim_sets) return claims.map((claim) => claim.path)
  const byId = new Map(claims.map((claim) => [claim.id, claim.path]))
  return query.claim_sets[0].map((id) => byId.get(id))
}

/**
 * Which DCQL credential query ids to answer with which held credential: every query when there are
 * no credential_sets, else for each required set the first option all of whose queries match.
 */
export function selectCredentials(held, dcql) {
  const queries = new Map(dcql.credentials.map((query) => [query.id, query]))
  let ids = [...queries.keys()]
  if (dcql.credential_sets) {
    ids = []
    for (const set of dcql.credential_sets) {
      const option = set.options.find((option) => option.every((id) => matchCredential(held, queries.get(id))))
      if (option) ids.push(...option)
      else if (set.required !== false) throw new Error(`no held credential answers credential set ${JSON.stringify(set.options)}`)
    }
  }
  return ids.map((id) => {
    const query = queries.get(id)
    const credential = matchCredential(held, query)
    if (!credential) throw new Error(`no held credential answers credential query ${id}`)
    return { id, query, credential, paths: requestedPaths(query) }
  })
}

/** The dNSName and URI SANs of a base64 DER certificate (getX509CertificateMetadata). */
function sanNames(certificateB64) {
  const names = (new X509Certificate(Buffer.from(certificateB64, 'base64')).subjectAltName ?? '').split(', ')
  return {
    sanDnsNames: names.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4)),
    sanUriNames: names.filter((name) => name.startsWith('URI:')).map((name) => name.slice(4)),
  }
}

/**
 * A wallet answering OpenID4VP requests with `held` credentials (from issueCredential).
 * `trustedCertificates` (PEM or DER) are the anchors for request signers: the `x5c` leaf must be
 * one of them or chain to one. `log` records every HTTP exchange. `encValues` is the order of
 * content encryptions the wallet prefers for direct_post.jwt.
 */
export function createPresentationWallet({ held, trustedCertificates, encValues = ['A128GCM', 'A256GCM'] }) {
  const anchors = trustedCertificates.map((certificate) => new X509Certificate(certificate))
  const log = []
  const client = new Openid4vpClient({
    callbacks: {
      hash,
      fetch: async (input, init) => {
        const response = await fetch(input, init)
        log.push(`${init?.method ?? 'GET'} ${input} -> ${response.status}`)
        return response
      },
      getX509CertificateMetadata: sanNames,
      verifyJwt: async (signer, { compact, header }) => {
        if (signer.method !== 'x5c') throw new Error(`request signer ${signer.method} is not x5c`)
        if (header.alg !== 'ES256') throw new Error(`request alg ${header.alg} is not ES256`)
        const chain = signer.x5c.map((certificate) => Buffer.from(certificate, 'base64'))
        const errors = []
        const leaf = anchors
          .map((anchor) => {
            try {
              return checkChain(chain, anchor)
            } catch (error) {
              errors.push(error.message)
              return undefined
            }
          })
          .find(Boolean)
        if (!leaf) throw new Error(`the request's x5c is not trusted: ${errors.join('; ')}`)
        const publicJwk = leaf.publicKey.export({ format: 'jwk' })
        const key = await subtle.importKey('jwk', publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
        const [h, p, s] = compact.split('.')
        const verified = await subtle.verify(
          { name: 'ECDSA', hash: 'SHA-256' },
          key,
          Buffer.from(s, 'base64url'),
          encoder.encode(`${h}.${p}`),
        )
        return verified ? { verified: true, signerJwk: publicJwk } : { verified: false }
      },
      encryptJwe: async (encryptor, plaintext) => {
        const { publicJwk, alg, enc, apu, apv } = encryptor
        const protectedHeader = { alg, enc }
        if (publicJwk.kid) protectedHeader.kid = publicJwk.kid
        const parameters = {}
        if (apu) parameters.apu = Buffer.from(apu, 'base64url')
        if (apv) parameters.apv = Buffer.from(apv, 'base64url')
        const jwe = await new CompactEncrypt(encoder.encode(plaintext))
          .setProtectedHeader(protectedHeader)
          .setKeyManagementParameters(parameters)
          .encrypt(await importJWK({ ...publicJwk, alg }, alg))
        return { jwe, encryptionJwk: publicJwk }
      },
      signJwt: () => {
        throw new Error('this wallet does not sign authorization responses')
      },
      decryptJwe: () => {
        throw new Error('this wallet takes no encrypted requests')
      },
    },
  })

  /** Resolves `url` (openid4vp://?client_id=..&request_uri=..) with the library; throws if it refuses it. */
  async function resolve(url) {
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: url })
    return client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
  }

  /**
   * The vp_token for a resolved request: each selected credential presented with the request's
   * nonce and client_id (KB-JWT aud, or the mdoc handover with the encryption key's thumbprint).
   */
  async function vpToken(request, encryptionJwk) {
    const jwkThumbprint = encryptionJwk
      ? Buffer.from(await calculateJwkThumbprint({ jwk: encryptionJwk, hashAlgorithm: HashAlgorithm.Sha256, hashCallback: hash }), 'base64url')
      : null
    const token = {}
    for (const { id, credential, paths } of selectCredentials(held, request.dcql_query)) {
      if (credential.format === 'dc+sd-jwt') {
        token[id] = [await presentSdJwtVc(credential, { paths, audience: request.client_id, nonce: request.nonce })]
      } else {
        const sessionTranscriptBytes = await openid4vpSessionTranscript({
          clientId: request.client_id,
          nonce: request.nonce,
          jwkThumbprint,
          responseUri: request.response_uri,
        })
        token[id] = [await presentMdoc(credential, { elements: paths, sessionTranscriptBytes })]
      }
    }
    return token
  }

  // The JARM capabilities this wallet states; the library picks alg, enc and the key with them.
  const serverMetadata = {
    authorization_signing_alg_values_supported: [],
    authorization_encryption_alg_values_supported: ['ECDH-ES'],
    authorization_encryption_enc_values_supported: encValues,
  }

  /** The verifier's encryption key, picked from client_metadata.jwks the way the library picks it. */
  function encryptionKey(request) {
    const jwks = request.client_metadata?.jwks
    if (!jwks) throw new Error('direct_post.jwt request without client_metadata.jwks')
    return extractEncryptionJwkFromJwks(jwks, {
      supportedAlgValues: serverMetadata.authorization_encryption_alg_values_supported,
    })
  }

  /**
   * Answers `url`: resolve and verify the request, present, encrypt when the response mode is
   * direct_post.jwt, POST to response_uri. Returns the resolved request, the vp_token and the
   * verifier's answer `{ status, body }`.
   */
  async function answer(url) {
    const resolved = await resolve(url)
    const request = resolved.authorizationRequestPayload
    const encrypted = request.response_mode === 'direct_post.jwt'
    const encryptionJwk = encrypted ? encryptionKey(request) : undefined
    const token = await vpToken(request, encryptionJwk)
    const created = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token: token },
      jarm: encrypted
        ? {
            // OpenID4VP 1.0 has no mdoc-generated nonce: no apu.
            encryption: { nonce: undefined },
            serverMetadata,
          }
        : undefined,
    })
    if (encrypted && created.jarm.encryptionJwk.kid !== encryptionJwk.kid) {
      throw new Error('the library encrypted to another key than the mdoc handover names')
    }
    const submitted = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: created.authorizationResponsePayload,
      jarm: created.jarm ? { responseJwt: created.jarm.responseJwt } : undefined,
    })
    const text = await submitted.response.text()
    let body = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: keep the text for the failure message
    }
    return { resolved, request, vpToken: token, jwe: created.jarm?.responseJwt, response: { status: submitted.response.status, body } }
  }

  return { client, log, resolve, answer, vpToken }
}
