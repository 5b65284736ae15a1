//! The store's side of credential lifecycle (Token Status List, draft-ietf-oauth-status-list,
//! DIGEST §4): what an issued credential's entry is, which status changes are legal, and the
//! rows both SQL back ends share.

use segl_credential::clock::UnixTime;

use super::StoreError;

/// A credential's status as the issuer manages it (DIGEST §4 "Values": 0 VALID, 1 INVALID,
/// 2 SUSPENDED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    /// `0x00`: valid.
    Valid,
    /// `0x01`: revoked; final.
    Invalid,
    /// `0x02`: suspended; may become valid again.
    Suspended,
}

impl CredentialStatus {
    /// The stored (and API) name: `valid`, `invalid`, `suspended`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "valid",
            CredentialStatus::Invalid => "invalid",
            CredentialStatus::Suspended => "suspended",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "valid" => Some(CredentialStatus::Valid),
            "invalid" => Some(CredentialStatus::Invalid),
            "suspended" => Some(CredentialStatus::Suspended),
            _ => None,
        }
    }

    /// The status list value (DIGEST §4 "Values").
    pub fn value(self) -> u8 {
        match self {
            CredentialStatus::Valid => 0,
            CredentialStatus::Invalid => 1,
            CredentialStatus::Suspended => 2,
        }
    }

    /// Whether a credential may go from `self` to `to`. INVALID is final ("revoked"); any other
    /// change is allowed.
    pub fn may_become(self, to: CredentialStatus) -> bool {
        self != CredentialStatus::Invalid || to == CredentialStatus::Invalid
    }
}

impl std::fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a tenant's status lists are shaped; applies to lists created from now on (a list keeps
/// the size and bits it was created with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListShape {
    /// Entries per list.
    pub size: u64,
    /// Bits per entry (1, 2, 4 or 8).
    pub bits: u8,
}

/// A credential about to be minted, asking for its status list entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCredential {
    /// Opaque, unguessable credential id (the admin API's handle).
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// The offer it is issued under (its `subject`, if any, is copied to the credential).
    pub offer_id: String,
    /// The configuration issued.
    pub credential_configuration_id: String,
    /// When.
    pub issued_at: UnixTime,
    /// A random number the entry is chosen with (the store draws its candidates from it, so the
    /// store itself holds no hidden randomness).
    pub random: u64,
}

/// Where a credential's status lives: list number and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSlot {
    /// The list's number within the tenant (1, 2, ...).
    pub list_id: i64,
    /// The entry's index in that list.
    pub idx: u64,
}

/// An issued credential as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Credential id.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Its status list entry.
    pub slot: StatusSlot,
    /// The offer it was issued under.
    pub offer_id: String,
    /// The offer's subject, if the authority named one.
    pub subject: Option<String>,
    /// The configuration issued.
    pub credential_configuration_id: String,
    /// Its current status.
    pub status: CredentialStatus,
    /// When it was issued.
    pub issued_at: UnixTime,
}

/// Which credentials a status change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTarget<'a> {
    /// One credential by id.
    Credential(&'a str),
    /// Every credential issued under one offer.
    Offer(&'a str),
    /// Every credential issued under offers naming this subject.
    Subject(&'a str),
}

/// A requested status change, with its audit record.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// Which credentials.
    pub target: StatusTarget<'a>,
    /// The new status.
    pub to: CredentialStatus,
    /// Who asked (audit).
    pub actor: &'a str,
    /// Why (audit).
    pub reason: &'a str,
    /// When.
    pub at: UnixTime,
}

/// What a status change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusChangeOutcome {
    /// The credentials whose status changed (each with one audit row).
    pub changed: Vec<String>,
    /// Credentials that already had the requested status.
    pub unchanged: Vec<String>,
    /// Credentials of a group change (offer, subject) left alone because they are INVALID,
    /// which is final.
    pub skipped_final: Vec<String>,
}

/// One audited status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAuditEntry {
    /// The credential.
    pub credential_id: String,
    /// The status before.
    pub from: CredentialStatus,
    /// The status after.
    pub to: CredentialStatus,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: UnixTime,
}

/// A status list's head: what its token is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusListHead {
    /// The list's number.
    pub id: i64,
    /// Entries.
    pub size: u64,
    /// Bits per entry.
    pub bits: u8,
    /// Grows with every status change of one of its entries.
    pub version: i64,
}

/// Why a status change was refused. Every refusal leaves the store as it was.
#[derive(Debug, thiserror::Error)]
pub enum StatusChangeError {
    /// No credential of this tenant has this id.
    #[error("unknown credential `{0}`")]
    UnknownCredential(String),
    /// The offer or subject has no credentials.
    #[error("no credentials issued {0}")]
    NothingIssued(String),
    /// The change is not allowed (INVALID is final).
    #[error("credential `{credential_id}` is {from}; it cannot become {to} (revocation is final)")]
    IllegalTransition {
        /// The credential.
        credential_id: String,
        /// Its status.
        from: CredentialStatus,
        /// The refused status.
        to: CredentialStatus,
    },
    /// The credential's list has one bit per entry, which cannot say SUSPENDED.
    #[error("credential `{0}` is on a 1-bit status list, which cannot express suspension")]
    SuspensionUnsupported(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A `credentials` row in this column order (see [`CREDENTIAL_COLUMNS`]).
pub(super) type CredentialRow = (String, String, i64, i64, String, Option<String>, String, String, i64);

/// The column list matching [`CredentialRow`] (unqualified, for `FROM credentials`).
pub(super) const CREDENTIAL_COLUMNS: &str =
    "id, tenant, list_id, idx, offer_id, subject, credential_configuration_id, status, issued_at";

/// Decodes a stored status name.
pub(super) fn parse_status(name: &str) -> Result<CredentialStatus, StoreError> {
    CredentialStatus::parse(name)
        .ok_or_else(|| StoreError::Database(format!("credentials.status holds unknown value {name:?}")))
}

/// A non-negative stored integer as `u64`.
pub(super) fn unsigned(value: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Database(format!("{column} holds negative value {value}")))
}

/// A `u64` as the database's `BIGINT`.
pub(super) fn signed(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Database(format!("{what} {value} exceeds a BIGINT")))
}

/// Decodes a [`CredentialRow`].
pub(super) fn decode_credential(row: CredentialRow) -> Result<CredentialRecord, StoreError> {
    let (id, tenant, list_id, idx, offer_id, subject, credential_configuration_id, status, issued_at) = row;
    Ok(CredentialRecord {
        id,
        tenant,
        slot: StatusSlot { list_id, idx: unsigned(idx, "credentials.idx")? },
        offer_id,
        subject,
        credential_configuration_id,
        status: parse_status(&status)?,
        issued_at,
    })
}

/// Decodes a `status_lists` head row `(id, size, bits, version)`.
pub(super) fn decode_head(row: (i64, i64, i64, i64)) -> Result<StatusListHead, StoreError> {
    let (id, size, bits, version) = row;
    let bits = u8::try_from(bits)
        .ok()
        .filter(|b| [1, 2, 4, 8].contains(b))
        .ok_or_else(|| StoreError::Database(format!("status_lists.bits holds {bits}")))?;
    Ok(StatusListHead { id, size: unsigned(size, "status_lists.size")?, bits, version })
}

/// The `k`-th candidate index of an allocation seeded with `random` (SplitMix64 steps), in
/// `0..size`. Uniform enough: `size` is at most 2^32, far below 2^64.
pub(super) fn candidate(random: u64, k: u64, size: u64) -> u64 {
    let mut z = random.wrapping_add(k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z.checked_rem(size).unwrap_or(0)
}

/// Random probes before an allocation falls back to scanning for a free entry.
pub(super) const RANDOM_PROBES: u64 = 4;

/// Rounds (probe, scan, roll over) an allocation tries before it gives up.
pub(super) const ALLOCATION_ROUNDS: usize = 64;

/// One credential a status change rewrites: id, list number, status before.
pub(super) type Update = (String, i64, CredentialStatus);

/// Sorts the rows a status change locked into changed / unchanged / skipped, or refuses the
/// whole change. `bits` is each row's list width.
pub(super) fn plan_change(
    rows: &[(String, i64, CredentialStatus, u8)],
    change: &StatusChange<'_>,
) -> Result<(Vec<Update>, StatusChangeOutcome), StatusChangeError> {
    if rows.is_empty() {
        return Err(match change.target {
            StatusTarget::Credential(id) => StatusChangeError::UnknownCredential(id.to_owned()),
            StatusTarget::Offer(id) => StatusChangeError::NothingIssued(format!("under offer `{id}`")),
            StatusTarget::Subject(_) => StatusChangeError::NothingIssued("to this subject".to_owned()),
        });
    }
    let single = matches!(change.target, StatusTarget::Credential(_));
    let mut outcome = StatusChangeOutcome::default();
    let mut updates = Vec::new();
    for (id, list_id, from, bits) in rows {
        if *from == change.to {
            outcome.unchanged.push(id.clone());
        } else if !from.may_become(change.to) {
            if single {
                return Err(StatusChangeError::IllegalTransition {
                    credential_id: id.clone(),
                    from: *from,
                    to: change.to,
                });
            }
            outcome.skipped_final.push(id.clone());
        } else if change.to == CredentialStatus::Suspended && *bits < 2 {
            return Err(StatusChangeError::SuspensionUnsupported(id.clone()));
        } else {
            outcome.changed.push(id.clone());
            updates.push((id.clone(), *list_id, *from));
        }
    }
    Ok((updates, outcome))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn invalid_is_final() {
        use CredentialStatus::*;
        for from in [Valid, Suspended, Invalid] {
            assert!(from.may_become(Invalid));
        }
        assert!(Valid.may_become(Suspended) && Suspended.may_become(Valid));
        assert!(!Invalid.may_become(Valid) && !Invalid.may_become(Suspended));
    }

    #[test]
    fn candidates_stay_in_range_and_differ() {
        let picks: Vec<u64> = (0..RANDOM_PROBES).map(|k| candidate(42, k, 1 << 20)).collect();
        assert!(picks.iter().all(|&p| p < 1 << 20));
        assert_ne!(picks[0], picks[1]);
        assert_eq!(candidate(7, 0, 1), 0);
        assert_eq!(candidate(7, 0, 0), 0);
    }

    #[test]
    fn corrupt_rows_are_errors() {
        assert!(parse_status("revoked").is_err());
        assert!(decode_head((1, 16, 3, 0)).is_err());
        assert!(unsigned(-1, "x").is_err());
    }
}
