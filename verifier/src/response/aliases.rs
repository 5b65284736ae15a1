//! mdoc docType aliases: age proofs in the wild use several docTypes for what the EU AV blueprint
//! calls `eu.europa.ec.av.1` (DIGEST §6.3; test-vectors/dk-digst). An alias maps a presented
//! docType, and its namespaces, onto the docType a query asks for.

/// One alias: a presented `doctype` accepted where a query asks for `alias_of`, with its
/// namespaces renamed to the canonical ones (unlisted namespaces keep their names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctypeAlias {
    /// The docType as presented, e.g. `eu.europa.ec.agev10n`.
    pub doctype: String,
    /// The docType it stands for, e.g. `eu.europa.ec.av.1`.
    pub alias_of: String,
    /// `(presented namespace, canonical namespace)` pairs.
    pub namespaces: Vec<(String, String)>,
}

impl DoctypeAlias {
    /// An alias whose single namespace equals its docType, mapped onto `alias_of` used the same
    /// way (the AV convention: docType and namespace are one name).
    pub fn same_named(doctype: &str, alias_of: &str) -> Self {
        Self {
            doctype: doctype.to_owned(),
            alias_of: alias_of.to_owned(),
            namespaces: vec![(doctype.to_owned(), alias_of.to_owned())],
        }
    }

    /// The canonical name of a presented namespace.
    pub fn canonical_namespace<'a>(&'a self, namespace: &'a str) -> &'a str {
        self.namespaces
            .iter()
            .find(|(presented, _)| presented == namespace)
            .map_or(namespace, |(_, canonical)| canonical.as_str())
    }
}

/// The Danish pilot's age proof docType (Digitaliseringsstyrelsen Signed QR).
pub const DK_AGE_DOCTYPE: &str = "eu.europa.ec.agev10n";
/// The Danish pilot's OpenID4VP age proof docType.
pub const DK_PSEUDONYM_AGE_DOCTYPE: &str = "eu.europa.ec.eudi.pseudonym.age_over_18.1";

/// The configurable alias table. [`Default`] is empty: only the docType a query names is
/// accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctypeAliases {
    aliases: Vec<DoctypeAlias>,
}

impl DoctypeAliases {
    /// No aliases.
    pub fn none() -> Self {
        Self::default()
    }

    /// The age proofs seen in EU pilots, accepted for `eu.europa.ec.av.1`:
    /// `eu.europa.ec.agev10n` and `eu.europa.ec.eudi.pseudonym.age_over_18.1` (DIGEST §6.3).
    pub fn eu_age_proofs() -> Self {
        let av = crate::request::AGE_DOCTYPE;
        Self {
            aliases: vec![
                DoctypeAlias::same_named(DK_AGE_DOCTYPE, av),
                DoctypeAlias::same_named(DK_PSEUDONYM_AGE_DOCTYPE, av),
            ],
        }
    }

    /// Adds an alias.
    pub fn with(mut self, alias: DoctypeAlias) -> Self {
        self.aliases.push(alias);
        self
    }

    /// The alias that lets `presented` answer a query for `requested`, if any.
    pub fn resolve(&self, presented: &str, requested: &str) -> Option<&DoctypeAlias> {
        self.aliases.iter().find(|alias| alias.doctype == presented && alias.alias_of == requested)
    }
}
