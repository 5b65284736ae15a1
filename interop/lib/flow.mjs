// The pre-authorized code flow as a wallet runs it with @openid4vc/openid4vci, in the steps a
// test may want to interfere with: redeem an offer (resolve it by reference, fetch the issuer and
// AS metadata, exchange the code and tx_code for a token), sign `jwt` proofs over a c_nonce, and
// request credentials.
import { createWallet } from './wallet.mjs'

/** Adds the wallet's HTTP log and the issuer's error body to a failure. */
export function explain(error, wallet) {
  error.message += `\nHTTP exchanges:\n  ${wallet.log.join('\n  ')}`
  const body = error.response?.credentialErrorResponseResult?.data
  if (body) error.message += `\nerror response: ${JSON.stringify(body)}`
  return error
}

/** Resolves `offerUri` and redeems its pre-authorized code with `txCode`. */
export async function redeemOffer({ offerUri, txCode, wallet = createWallet() }) {
  const { client } = wallet
  try {
    const credentialOffer = await client.resolveCredentialOffer(offerUri)
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode,
    })
    const [credentialConfigurationId] = credentialOffer.credential_configuration_ids
    return { wallet, client, credentialOffer, issuerMetadata, credentialConfigurationId, accessTokenResponse }
  } catch (error) {
    throw explain(error, wallet)
  }
}

/**
 * Signs one `jwt` proof per key over `nonce` with the library's proof builder. `issuerMetadata`
 * names the audience, so a test can pass altered metadata to get a wrong `aud`.
 */
export async function signProofs(session, keys, nonce, issuerMetadata = session.issuerMetadata) {
  return Promise.all(
    keys.map(async (key) => {
      const { jwt } = await session.client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId: session.credentialConfigurationId,
        nonce,
        signer: { method: 'jwk', alg: 'ES256', publicJwk: key.publicJwk },
      })
      return jwt
    }),
  )
}

/** POSTs the credential request with `proofs`; throws Openid4vciRetrieveCredentialsError on an error answer. */
export async function requestCredentials(session, proofs) {
  const response = await session.client.retrieveCredentials({
    issuerMetadata: session.issuerMetadata,
    credentialConfigurationId: session.credentialConfigurationId,
    accessToken: session.accessTokenResponse.access_token,
    proofs: { jwt: proofs },
  })
  return response.credentialResponse
}

/** The whole flow with `batch` fresh holder keys: offer, metadata, token, nonce, proofs, credentials. */
export async function obtainCredentials({ offerUri, txCode, batch = 1 }) {
  const session = await redeemOffer({ offerUri, txCode })
  try {
    const keys = await Promise.all(Array.from({ length: batch }, () => session.wallet.newKey()))
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    const proofs = await signProofs(session, keys, nonce)
    const credentialResponse = await requestCredentials(session, proofs)
    return { ...session, keys, nonce, proofs, credentialResponse }
  } catch (error) {
    throw explain(error, session.wallet)
  }
}
