// The verifier side: X.509 chains checked with node's X509Certificate against the tenant CA, an
// SD-JWT VC verified with @sd-jwt/sd-jwt-vc, an mdoc IssuerSigned verified with @animo-id/mdoc.
import { X509Certificate, webcrypto } from 'node:crypto'
import { digest } from '@sd-jwt/crypto-nodejs'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { COSEKey, Verifier, parseIssuerSigned } from '@animo-id/mdoc'

const { subtle } = webcrypto

/**
 * Checks that `chain` (DER certificates, leaf first) chains to the CA certificate `ca`: each
 * certificate is signed by the next, the last by the CA (or is the CA itself), every one is valid
 * at `now`, and every issuer on the way is a CA. Throws with the reason otherwise.
 */
export function checkChain(chain, ca, now = new Date()) {
  if (chain.length === 0) throw new Error('empty certificate chain')
  const certificates = chain.map((der) => new X509Certificate(der))
  if (certificates.at(-1).fingerprint256 !== ca.fingerprint256) certificates.push(ca)
  for (const [index, certificate] of certificates.entries()) {
    if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
      throw new Error(`certificate ${index} (${certificate.subject}) is not valid at ${now.toISOString()}`)
    }
    // The last one is the trust anchor itself: trusted as configured, not checked further.
    const issuer = certificates[index + 1]
    if (issuer === undefined) break
    if (!issuer.ca) throw new Error(`certificate ${index + 1} (${issuer.subject}) is not a CA`)
    if (!certificate.checkIssued(issuer)) throw new Error(`certificate ${index} is not issued by ${issuer.subject}`)
    if (!certificate.verify(issuer.publicKey)) throw new Error(`certificate ${index} signature does not verify`)
  }
  return certificates[0]
}

/** A WebCrypto ES256 public key from an X509Certificate. */
async function es256Key(certificate) {
  const jwk = certificate.publicKey.export({ format: 'jwk' })
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error(`issuer key is ${jwk.kty}/${jwk.crv}, not P-256`)
  return subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
}

const es256Verify = (key, signature, data) =>
  subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data)

/**
 * Verifies an issued SD-JWT VC (no KB-JWT): the `x5c` leaf must chain to `caPem`, then
 * @sd-jwt/sd-jwt-vc checks the signature with the leaf key, the digests and the time claims.
 * Returns `{ header, payload }` with every disclosure applied.
 */
export async function verifySdJwtVc(compact, caPem, now = new Date()) {
  const header = JSON.parse(Buffer.from(compact.split('.')[0], 'base64url').toString('utf8'))
  if (header.typ !== 'dc+sd-jwt') throw new Error(`typ is ${header.typ}, not dc+sd-jwt`)
  if (header.alg !== 'ES256') throw new Error(`alg is ${header.alg}, not ES256`)
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error('no x5c in the header')
  const leaf = checkChain(header.x5c.map((cert) => Buffer.from(cert, 'base64')), new X509Certificate(caPem), now)
  const key = await es256Key(leaf)
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    verifier: (data, signature) => es256Verify(key, Buffer.from(signature, 'base64url'), Buffer.from(data)),
  })
  const result = await sdjwt.verify(compact, { currentDate: Math.floor(now.getTime() / 1000), skewSeconds: 60 })
  return { header: result.header, payload: result.payload, leaf }
}

/** The callbacks @animo-id/mdoc verifies through, on node's crypto. */
const mdocContext = {
  crypto: {
    random: (length) => webcrypto.getRandomValues(new Uint8Array(length)),
    digest: async ({ digestAlgorithm, bytes }) => new Uint8Array(await subtle.digest(digestAlgorithm, bytes)),
    calculateEphemeralMacKeyJwk: () => {
      throw new Error('deviceMac is not used here')
    },
  },
  cose: {
    sign1: {
      sign: () => {
        throw new Error('the verifier does not sign')
      },
      verify: async ({ sign1, jwk }) => {
        const { alg, signature, data } = sign1.getRawVerificationData()
        if (alg !== 'ES256') throw new Error(`COSE alg ${alg} is not ES256`)
        const key = await subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
        return es256Verify(key, signature, data)
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
  x509: {
    getIssuerNameField: ({ certificate, field }) =>
      new X509Certificate(certificate).subject
        .split('\n')
        .filter((part) => part.startsWith(`${field}=`))
        .map((part) => part.slice(field.length + 1)),
    getPublicKey: ({ certificate }) => new X509Certificate(certificate).publicKey.export({ format: 'jwk' }),
    validateCertificateChain: ({ trustedCertificates, x5chain }) => {
      const errors = []
      for (const anchor of trustedCertificates) {
        try {
          checkChain(x5chain, new X509Certificate(anchor))
          return
        } catch (error) {
          errors.push(error.message)
        }
      }
      throw new Error(`x5chain does not chain to a trusted certificate: ${errors.join('; ')}`)
    },
    getCertificateData: ({ certificate }) => {
      const cert = new X509Certificate(certificate)
      return {
        issuerName: cert.issuer,
        subjectName: cert.subject,
        serialNumber: cert.serialNumber,
        thumbprint: cert.fingerprint256,
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
        pem: cert.toString(),
      }
    },
  },
}

/**
 * Verifies an issued mdoc (base64url of CBOR IssuerSigned) with @animo-id/mdoc: issuer signature,
 * the x5chain to `caPem`, validity, and every element's digest. Returns the docType, the elements
 * as `{namespace: {element: value}}`, the MSO device key as a JWK and every check the library ran.
 */
export async function verifyMdoc(credential, caPem, expectedDocType, now = new Date()) {
  const bytes = Buffer.from(credential, 'base64url')
  const document = parseIssuerSigned(new Uint8Array(bytes), expectedDocType)
  const checks = []
  const onCheckG = (check) => checks.push(check)
  const verifier = new Verifier()
  const anchor = new Uint8Array(new X509Certificate(caPem).raw)
  await verifier.verifyIssuerSignature(
    {
      trustedCertificates: [anchor],
      issuerAuth: document.issuerSigned.issuerAuth,
      disableCertificateChainValidation: false,
      now,
      onCheckG,
    },
    mdocContext,
  )
  await verifier.verifyData({ mdoc: document, onCheckG }, mdocContext)
  const failed = checks.filter((check) => check.status === 'FAILED')
  if (failed.length > 0) {
    throw new Error(`@animo-id/mdoc checks failed: ${failed.map((c) => `${c.check}${c.reason ? ` (${c.reason})` : ''}`).join('; ')}`)
  }
  const mso = document.issuerSigned.issuerAuth.decodedPayload
  const elements = {}
  for (const [namespace, values] of document.allIssuerSignedNamespaces) {
    elements[namespace] = Object.fromEntries(values)
  }
  const deviceKey = COSEKey.import(mso.deviceKeyInfo.deviceKey).toJWK()
  return { docType: document.docType, msoDocType: mso.docType, mso, elements, deviceKey, checks }
}
