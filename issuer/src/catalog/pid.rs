//! The EUDI PID (CIR 2024/2977, PID rulebook; DIGEST §6.1–6.2): input keyed by the rulebook's
//! data identifiers, mapped to the mdoc element identifiers (`eu.europa.ec.eudi.pid.1`) and to
//! the SD-JWT VC claim names (`urn:eudi:pid:1`), which differ (`birth_date` / `birthdate`,
//! `nationality` / `nationalities`, `resident_city` / `address.locality`, ...).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ciborium::Value as Cbor;
use serde_json::{Map, Value};

use segl_credential::mdoc::full_date_from;
use segl_credential::sd_jwt::{ClaimPath, PathElement};

use super::input::{country, date, invalid, text};
use super::{CatalogError, ClaimDescription, CredentialDisplay, InputClaims, da_en};

/// The PID SD-JWT VC type (DIGEST §6.1: "`vct` MUST be a URN in `urn:eudi:pid:`").
pub const PID_VCT: &str = "urn:eudi:pid:1";
/// The PID mdoc docType (ARF PID_04).
pub const PID_DOCTYPE: &str = "eu.europa.ec.eudi.pid.1";
/// The PID mdoc namespace (ARF PID_05), equal to the docType.
pub const PID_NAMESPACE: &str = "eu.europa.ec.eudi.pid.1";

/// The largest portrait accepted, in bytes of JPEG.
const MAX_PORTRAIT: usize = 512 * 1024;

/// The value type of a PID data identifier, and so its encoding in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidType {
    /// Text (tstr / JSON string).
    Text,
    /// `YYYY-MM-DD`: mdoc `full-date` (tag 1004), SD-JWT string.
    Date,
    /// ISO 3166-1 alpha-2 code.
    Country,
    /// A non-empty array of alpha-2 codes.
    Countries,
    /// `{country?, region?, locality?}`, at least one member.
    Place,
    /// ISO/IEC 5218 code extended by the rulebook: 0, 1, 2, 3, 4, 5, 6 or 9.
    Sex,
    /// JPEG given as base64 (standard or url-safe): mdoc bstr, SD-JWT `data:image/jpeg;base64,`.
    Portrait,
}

/// One PID attribute: data identifier, type, whether mandatory, its names in each format and
/// its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidAttribute {
    /// The rulebook data identifier: the key of the input claims.
    pub id: &'static str,
    /// Its type.
    pub kind: PidType,
    /// Mandatory (M or MM in DIGEST §6.2; `portrait` is treated as optional while the rulebook
    /// lets the user opt out).
    pub mandatory: bool,
    /// The SD-JWT VC claim path.
    pub sd_jwt: &'static [&'static str],
    /// The mdoc elementIdentifier (`None`: SD-JWT only).
    pub mdoc: Option<&'static str>,
    /// Danish label.
    pub da: &'static str,
    /// English label.
    pub en: &'static str,
}

const fn attr(
    id: &'static str,
    kind: PidType,
    mandatory: bool,
    sd_jwt: &'static [&'static str],
    mdoc: Option<&'static str>,
    da: &'static str,
    en: &'static str,
) -> PidAttribute {
    PidAttribute { id, kind, mandatory, sd_jwt, mdoc, da, en }
}

use PidType::{Countries, Country, Date, Place, Portrait, Sex, Text};

/// DIGEST §6.2, in display order.
#[rustfmt::skip]
const PID: [PidAttribute; 25] = [
    attr("family_name", Text, true, &["family_name"], Some("family_name"), "Efternavn", "Family name"),
    attr("given_name", Text, true, &["given_name"], Some("given_name"), "Fornavn", "Given name"),
    attr("birth_date", Date, true, &["birthdate"], Some("birth_date"), "Fødselsdato", "Date of birth"),
    attr("birth_place", Place, true, &["place_of_birth"], Some("place_of_birth"), "Fødested", "Place of birth"),
    attr("nationality", Countries, true, &["nationalities"], Some("nationality"), "Statsborgerskab", "Nationality"),
    attr("portrait", Portrait, false, &["picture"], Some("portrait"), "Portræt", "Portrait"),
    attr("resident_address", Text, false, &["address", "formatted"], Some("resident_address"), "Adresse", "Address"),
    attr("resident_country", Country, false, &["address", "country"], Some("resident_country"), "Bopælsland", "Country of residence"),
    attr("resident_state", Text, false, &["address", "region"], Some("resident_state"), "Bopælsregion", "State of residence"),
    attr("resident_city", Text, false, &["address", "locality"], Some("resident_city"), "Bopælsby", "City of residence"),
    attr("resident_postal_code", Text, false, &["address", "postal_code"], Some("resident_postal_code"), "Postnummer", "Postal code"),
    attr("resident_street", Text, false, &["address", "street_address"], Some("resident_street"), "Vej", "Street"),
    attr("resident_house_number", Text, false, &["address", "house_number"], None, "Husnummer", "House number"),
    attr("personal_administrative_number", Text, false, &["personal_administrative_number"], Some("personal_administrative_number"), "Personligt administrativt nummer", "Personal administrative number"),
    attr("family_name_birth", Text, false, &["birth_family_name"], Some("family_name_birth"), "Efternavn ved fødsel", "Family name at birth"),
    attr("given_name_birth", Text, false, &["birth_given_name"], Some("given_name_birth"), "Fornavn ved fødsel", "Given name at birth"),
    attr("sex", Sex, false, &["sex"], Some("sex"), "Køn", "Sex"),
    attr("email_address", Text, false, &["email"], Some("email_address"), "E-mailadresse", "Email address"),
    attr("mobile_phone_number", Text, false, &["phone_number"], Some("mobile_phone_number"), "Mobilnummer", "Mobile phone number"),
    attr("issuing_authority", Text, true, &["issuing_authority"], Some("issuing_authority"), "Udstedende myndighed", "Issuing authority"),
    attr("issuing_country", Country, true, &["issuing_country"], Some("issuing_country"), "Udstedelsesland", "Issuing country"),
    attr("expiry_date", Date, false, &["date_of_expiry"], Some("expiry_date"), "Udløbsdato", "Expiry date"),
    attr("issuance_date", Date, false, &["date_of_issuance"], Some("issuance_date"), "Udstedelsesdato", "Issuance date"),
    attr("document_number", Text, false, &["document_number"], Some("document_number"), "Dokumentnummer", "Document number"),
    attr("issuing_jurisdiction", Text, false, &["issuing_jurisdiction"], Some("issuing_jurisdiction"), "Udstedende jurisdiktion", "Issuing jurisdiction"),
];

/// The members of `birth_place` / `place_of_birth`.
const PLACE_MEMBERS: [&str; 3] = ["country", "region", "locality"];

/// Every PID attribute Segl maps, in display order.
pub fn pid_attributes() -> &'static [PidAttribute] {
    &PID
}

fn find(id: &str) -> Option<&'static PidAttribute> {
    PID.iter().find(|attribute| attribute.id == id)
}

/// The input with the tenant's `issuing_country` / `issuing_authority` where it has none.
pub(super) fn with_defaults(
    input: &InputClaims,
    issuing_country: &Option<String>,
    issuing_authority: &Option<String>,
) -> InputClaims {
    let mut input = input.clone();
    for (id, default) in [("issuing_country", issuing_country), ("issuing_authority", issuing_authority)] {
        if let Some(default) = default
            && !input.contains_key(id)
        {
            input.insert(id.into(), Value::from(default.as_str()));
        }
    }
    input
}

/// Checks PID input: every key a known data identifier with a value of its type, and (when
/// `require_mandatory`) every mandatory one present.
pub(super) fn check_input(input: &InputClaims, require_mandatory: bool) -> Result<(), CatalogError> {
    for (id, value) in input {
        let attribute = find(id).ok_or_else(|| CatalogError::UnknownClaim { claim: id.clone() })?;
        check_value(attribute, value)?;
    }
    if require_mandatory
        && let Some(missing) =
            PID.iter().find(|attribute| attribute.mandatory && !input.contains_key(attribute.id))
    {
        return Err(CatalogError::MissingClaim { claim: missing.id.into() });
    }
    Ok(())
}

fn check_value(attribute: &PidAttribute, value: &Value) -> Result<(), CatalogError> {
    let id = attribute.id;
    match attribute.kind {
        Text => text(id, value).map(drop),
        Date => date(id, value).map(drop),
        Country => country(id, value).map(drop),
        Countries => {
            let codes = value.as_array().ok_or_else(|| invalid(id, "expected an array of country codes"))?;
            if codes.is_empty() || codes.len() > 20 {
                return Err(invalid(id, "expected 1 to 20 country codes"));
            }
            for (index, code) in codes.iter().enumerate() {
                country(id, code)?;
                if codes[..index].contains(code) {
                    return Err(invalid(id, format!("{code} is listed twice")));
                }
            }
            Ok(())
        }
        Place => {
            let place = value
                .as_object()
                .ok_or_else(|| invalid(id, "expected an object {country, region, locality}"))?;
            if place.is_empty() {
                // PID rulebook: place of birth has "at least one" of country, region, locality.
                return Err(invalid(id, "needs at least one of country, region, locality"));
            }
            for (member, value) in place {
                let claim = format!("{id}.{member}");
                match member.as_str() {
                    "country" => country(&claim, value).map(drop)?,
                    "region" | "locality" => text(&claim, value).map(drop)?,
                    _ => return Err(CatalogError::UnknownClaim { claim }),
                }
            }
            Ok(())
        }
        Sex => match value.as_u64() {
            Some(0..=6 | 9) => Ok(()),
            _ => Err(invalid(id, "expected one of 0, 1, 2, 3, 4, 5, 6, 9")),
        },
        Portrait => portrait(value).map(drop),
    }
}

fn portrait(value: &Value) -> Result<Vec<u8>, CatalogError> {
    let id = "portrait";
    let encoded = value.as_str().ok_or_else(|| invalid(id, "expected base64 JPEG"))?;
    if encoded.len() > MAX_PORTRAIT / 3 * 4 + 4 {
        return Err(invalid(id, format!("larger than {MAX_PORTRAIT} bytes")));
    }
    let bytes = STANDARD
        .decode(encoded)
        .or_else(|_| URL_SAFE_NO_PAD.decode(encoded))
        .map_err(|_| invalid(id, "not base64"))?;
    // PID rulebook: the portrait is a JPEG image.
    if !bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Err(invalid(id, "not a JPEG image"));
    }
    Ok(bytes)
}

/// The SD-JWT VC claims of checked input, and the paths made selectively disclosable: every
/// claim, every member of `address` and `place_of_birth`, and every element of `nationalities`.
pub(super) fn sd_jwt_claims(
    input: &InputClaims,
) -> Result<(Map<String, Value>, Vec<ClaimPath>), CatalogError> {
    let mut claims = Map::new();
    let mut paths: Vec<ClaimPath> = Vec::new();
    for attribute in &PID {
        let Some(value) = input.get(attribute.id) else { continue };
        let top = attribute.sd_jwt.first().copied().unwrap_or(attribute.id);
        let value = match attribute.kind {
            Portrait => Value::from(format!("data:image/jpeg;base64,{}", STANDARD.encode(portrait(value)?))),
            Place => {
                for member in PLACE_MEMBERS {
                    paths.push(ClaimPath::keys([top, member]));
                }
                value.clone()
            }
            Countries => {
                paths.push(ClaimPath::new(vec![PathElement::Key(top.into()), PathElement::AllElements]));
                value.clone()
            }
            _ => value.clone(),
        };
        match attribute.sd_jwt {
            [name] => {
                claims.insert((*name).into(), value);
                paths.push(ClaimPath::keys([*name]));
            }
            [parent, member] => {
                let slot = claims.entry(*parent).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(object) = slot {
                    object.insert((*member).into(), value);
                }
                let parent_path = ClaimPath::keys([*parent]);
                if !paths.contains(&parent_path) {
                    paths.push(parent_path);
                }
                paths.push(ClaimPath::keys([*parent, *member]));
            }
            _ => return Err(invalid(attribute.id, "unsupported SD-JWT path")),
        }
    }
    Ok((claims, paths))
}

/// The mdoc elements of checked input, in display order.
pub(super) fn mdoc_elements(input: &InputClaims) -> Result<Vec<(String, Cbor)>, CatalogError> {
    let mut elements = Vec::new();
    for attribute in &PID {
        let (Some(element), Some(value)) = (attribute.mdoc, input.get(attribute.id)) else { continue };
        let id = attribute.id;
        let cbor = match attribute.kind {
            Text | Country => Cbor::Text(text(id, value)?.to_owned()),
            Date => full_date_from(date(id, value)?),
            Countries => Cbor::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|code| Cbor::Text(code.into()))
                    .collect(),
            ),
            Place => Cbor::Map(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(member, value)| {
                        Some((Cbor::Text(member.clone()), Cbor::Text(value.as_str()?.into())))
                    })
                    .collect(),
            ),
            Sex => Cbor::Integer(value.as_u64().ok_or_else(|| invalid(id, "expected a number"))?.into()),
            Portrait => Cbor::Bytes(portrait(value)?),
        };
        elements.push((element.to_owned(), cbor));
    }
    Ok(elements)
}

/// How wallets show the PID.
pub(super) fn display() -> CredentialDisplay {
    CredentialDisplay {
        name: da_en("Personidentifikationsdata (PID)", "Person identification data (PID)"),
        description: da_en(
            "Dine identitetsoplysninger til den europæiske digitale identitetstegnebog",
            "Your identity data for the European digital identity wallet",
        ),
        background_color: Some("#12325c".into()),
        text_color: Some("#ffffff".into()),
    }
}

/// The SD-JWT VC claims for metadata (every claim selectively disclosable).
pub(super) fn sd_jwt_descriptions() -> Vec<ClaimDescription> {
    PID.iter()
        .map(|attribute| ClaimDescription {
            path: attribute.sd_jwt.iter().map(|name| (*name).to_owned()).collect(),
            mandatory: attribute.mandatory,
            display: da_en(attribute.da, attribute.en),
            selectively_disclosable: true,
        })
        .collect()
}

/// The mdoc elements for metadata, as `[namespace, element]`.
pub(super) fn mdoc_descriptions() -> Vec<ClaimDescription> {
    PID.iter()
        .filter_map(|attribute| {
            Some(ClaimDescription {
                path: vec![PID_NAMESPACE.to_owned(), attribute.mdoc?.to_owned()],
                mandatory: attribute.mandatory,
                display: da_en(attribute.da, attribute.en),
                selectively_disclosable: true,
            })
        })
        .collect()
}
