//! The enveloped XAdES signature of a trusted list (TS 119 612 §5.7.1; XAdES per ETSI EN 319
//! 132-1, XMLDSig 1.0).
//!
//! What is produced (and claimed): a `ds:Signature` as the last child of the root, with
//! - `ds:SignedInfo` canonicalised with Exclusive C14N 1.0 (no comments), `ecdsa-sha256/384/512`
//!   (RFC 6931 §2.3.6; the SignatureValue is `r || s`, RFC 4050);
//! - a Reference with `URI=""` and the transforms enveloped-signature then Exclusive C14N,
//!   digested with SHA-256 (TS 119 612 §5.7.1 asks for the whole list to be signed);
//! - a Reference of `Type="http://uri.etsi.org/01903#SignedProperties"` to
//!   `xades:SignedProperties` holding SigningTime and SigningCertificateV2 (SHA-256 digest of
//!   the signing certificate) and a DataObjectFormat (`text/xml`) for the list reference;
//! - `ds:KeyInfo/ds:X509Data` with the operator's certificate chain.
//!
//! Not claimed: XAdES baseline B-T and above (no SignatureTimeStamp), IssuerSerialV2,
//! SignaturePolicyIdentifier, CommitmentTypeIndication, RSA signatures, and verification of
//! XAdES documents produced by others (Segl only verifies its own output in tests, with
//! xmlsec1 as the independent checker).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use segl_credential::clock::UnixTime;
use segl_credential::keys::{Algorithm, Signer};

use super::xml::{Element, Node};
use crate::TrustListError;
use crate::timefmt;

/// The XMLDSig namespace.
pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XAdES 1.3.2 namespace (EN 319 132-1 places SigningCertificateV2 in it).
pub const XADES_NS: &str = "http://uri.etsi.org/01903/v1.3.2#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";

const SIGNATURE_ID: &str = "id-tsl-signature";
const SIGNED_PROPERTIES_ID: &str = "id-tsl-signed-properties";
const LIST_REFERENCE_ID: &str = "id-tsl-reference";

/// Signs `root` (already indented, without a signature) and appends the enveloped signature as
/// its last element child.
pub(crate) fn sign_enveloped(
    root: &mut Element,
    signer: &dyn Signer,
    signing_time: UnixTime,
) -> Result<(), TrustListError> {
    let chain = signer.certificate_chain();
    let leaf =
        chain.first().ok_or_else(|| TrustListError::Operator("the signer has no certificate".into()))?;

    // The enveloped-signature transform removes exactly the ds:Signature element, so the
    // canonical list before it is appended is the referenced octet stream.
    let list_digest = sha256_b64(root.to_canonical()?.as_bytes());

    let signed_properties = Element::new("xades:SignedProperties")
        .ns("xades", XADES_NS)
        .attr("Id", SIGNED_PROPERTIES_ID)
        .child(
            Element::new("xades:SignedSignatureProperties")
                .child(Element::new("xades:SigningTime").text(&timefmt::format(signing_time)?))
                .child(
                    Element::new("xades:SigningCertificateV2").child(
                        Element::new("xades:Cert").child(
                            Element::new("xades:CertDigest")
                                .child(
                                    Element::new("ds:DigestMethod").ns("ds", DS_NS).attr("Algorithm", SHA256),
                                )
                                .child(
                                    Element::new("ds:DigestValue").ns("ds", DS_NS).text(&sha256_b64(leaf)),
                                ),
                        ),
                    ),
                ),
        )
        .child(
            Element::new("xades:SignedDataObjectProperties").child(
                Element::new("xades:DataObjectFormat")
                    .attr("ObjectReference", &format!("#{LIST_REFERENCE_ID}"))
                    .child(Element::new("xades:MimeType").text("text/xml")),
            ),
        );
    let properties_digest = sha256_b64(signed_properties.to_canonical()?.as_bytes());

    let signed_info = Element::new("ds:SignedInfo")
        .ns("ds", DS_NS)
        .child(Element::new("ds:CanonicalizationMethod").attr("Algorithm", EXC_C14N))
        .child(Element::new("ds:SignatureMethod").attr("Algorithm", signature_method(signer.algorithm())))
        .child(
            Element::new("ds:Reference")
                .attr("Id", LIST_REFERENCE_ID)
                .attr("URI", "")
                .child(
                    Element::new("ds:Transforms")
                        .child(Element::new("ds:Transform").attr("Algorithm", ENVELOPED))
                        .child(Element::new("ds:Transform").attr("Algorithm", EXC_C14N)),
                )
                .child(Element::new("ds:DigestMethod").attr("Algorithm", SHA256))
                .child(Element::new("ds:DigestValue").text(&list_digest)),
        )
        .child(
            Element::new("ds:Reference")
                .attr("Type", SIGNED_PROPERTIES_TYPE)
                .attr("URI", &format!("#{SIGNED_PROPERTIES_ID}"))
                .child(
                    Element::new("ds:Transforms")
                        .child(Element::new("ds:Transform").attr("Algorithm", EXC_C14N)),
                )
                .child(Element::new("ds:DigestMethod").attr("Algorithm", SHA256))
                .child(Element::new("ds:DigestValue").text(&properties_digest)),
        );
    let signature_value = signer.sign(signed_info.to_canonical()?.as_bytes())?;

    let key_info = Element::new("ds:KeyInfo")
        .child(Element::new("ds:X509Data").children(
            chain.iter().map(|der| Element::new("ds:X509Certificate").text(&STANDARD.encode(der))),
        ));
    let signature = Element::new("ds:Signature")
        .ns("ds", DS_NS)
        .attr("Id", SIGNATURE_ID)
        .child(signed_info)
        .child(Element::new("ds:SignatureValue").text(&STANDARD.encode(signature_value)))
        .child(key_info)
        .child(
            Element::new("ds:Object").child(
                Element::new("xades:QualifyingProperties")
                    .ns("xades", XADES_NS)
                    .attr("Target", &format!("#{SIGNATURE_ID}"))
                    .child(signed_properties),
            ),
        );
    // Insert before the closing indentation so every text node the digest covered stays as it
    // was (the enveloped transform removes only the element).
    let position = match root.children.last() {
        Some(Node::Text(_)) => root.children.len().saturating_sub(1),
        _ => root.children.len(),
    };
    root.children.insert(position, Node::Element(signature));
    Ok(())
}

fn signature_method(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Es256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        Algorithm::Es384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        Algorithm::Es512 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
}

fn sha256_b64(bytes: &[u8]) -> String {
    STANDARD.encode(digest::digest(&digest::SHA256, bytes))
}
