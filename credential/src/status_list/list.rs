//! The uncompressed status list: a byte array of 1, 2, 4 or 8-bit entries with O(1) get and set
//! (draft-ietf-oauth-status-list, "Status List" and "Status Types").

use super::StatusListError;

/// Bits per entry of a status list. Only 1, 2, 4 and 8 exist, so that an entry never straddles a
/// byte ("Status List" step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bits {
    /// One bit: VALID / INVALID.
    One = 1,
    /// Two bits: adds SUSPENDED and one application-specific value.
    Two = 2,
    /// Four bits: sixteen values.
    Four = 4,
    /// Eight bits: 256 values.
    Eight = 8,
}

impl Bits {
    /// Reads a `bits` value from the wire, refusing anything but 1, 2, 4 or 8. Takes `i128` so
    /// that every CBOR or JSON integer can be passed without a lossy cast first.
    pub fn from_wire(bits: i128) -> Result<Self, StatusListError> {
        match bits {
            1 => Ok(Bits::One),
            2 => Ok(Bits::Two),
            4 => Ok(Bits::Four),
            8 => Ok(Bits::Eight),
            other => Err(StatusListError::UnsupportedBits(other)),
        }
    }

    /// The number of bits per entry (1, 2, 4 or 8).
    pub fn count(self) -> u8 {
        self as u8
    }

    /// The largest value an entry can hold (1, 3, 15 or 255).
    pub fn max_value(self) -> u8 {
        match self {
            Bits::One => 0x01,
            Bits::Two => 0x03,
            Bits::Four => 0x0f,
            Bits::Eight => 0xff,
        }
    }

    /// How many entries share one byte (8, 4, 2 or 1).
    pub fn entries_per_byte(self) -> usize {
        8 / usize::from(self.count())
    }
}

/// The status of a referenced token ("Status Types Values"). The value is what the list stores;
/// the variants name the registered meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0x00 VALID: the token is valid, correct or legal.
    Valid,
    /// 0x01 INVALID: revoked, annulled or cancelled; irreversible.
    Invalid,
    /// 0x02 SUSPENDED: temporarily invalid; reversible.
    Suspended,
    /// 0x03 or 0x0C–0x0F: meaning agreed out of band by the application.
    ApplicationSpecific(u8),
    /// Any other value: reserved for future registration.
    Reserved(u8),
}

impl Status {
    /// The numeric value stored in the list.
    pub fn value(self) -> u8 {
        match self {
            Status::Valid => 0x00,
            Status::Invalid => 0x01,
            Status::Suspended => 0x02,
            Status::ApplicationSpecific(value) | Status::Reserved(value) => value,
        }
    }

    /// True only for VALID. A verifier treats every other value as "do not accept".
    pub fn is_valid(self) -> bool {
        self == Status::Valid
    }
}

impl From<u8> for Status {
    fn from(value: u8) -> Self {
        match value {
            0x00 => Status::Valid,
            0x01 => Status::Invalid,
            0x02 => Status::Suspended,
            0x03 | 0x0c..=0x0f => Status::ApplicationSpecific(value),
            other => Status::Reserved(other),
        }
    }
}

impl From<Status> for u8 {
    fn from(status: Status) -> Self {
        status.value()
    }
}

/// An uncompressed status list: entry `i` occupies bits `[i*bits, (i+1)*bits)` of the byte
/// array, counted from the least significant bit of each byte ("Status List" step 2).
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Bits,
    len: u64,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A million-entry list is not useful in a log line.
        f.debug_struct("StatusList").field("bits", &self.bits).field("len", &self.len).finish_non_exhaustive()
    }
}

impl StatusList {
    /// A list of `len` entries, all VALID (0x00).
    pub fn new(bits: Bits, len: u64) -> Result<Self, StatusListError> {
        let too_large = || StatusListError::ListTooLarge { len, bits: bits.count() };
        let total_bits = len.checked_mul(u64::from(bits.count())).ok_or_else(too_large)?;
        let byte_len = usize::try_from(total_bits.div_ceil(8)).map_err(|_| too_large())?;
        Ok(StatusList { bits, len, bytes: vec![0; byte_len] })
    }

    /// Wraps an already packed byte array (an inflated `lst`). Every entry the bytes hold is part
    /// of the list, so the length is `bytes.len() * 8 / bits`.
    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> Self {
        let len = (bytes.len() as u64).saturating_mul(bits.entries_per_byte() as u64);
        StatusList { bits, len, bytes }
    }

    /// Bits per entry.
    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed byte array (what gets compressed into `lst`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Byte position and bit shift of entry `index`, or the out-of-range error.
    fn locate(&self, index: u64) -> Result<(usize, u32), StatusListError> {
        let out_of_range = || StatusListError::IndexOutOfRange { index, len: self.len };
        if index >= self.len {
            return Err(out_of_range());
        }
        let per_byte = self.bits.entries_per_byte() as u64;
        let byte = usize::try_from(index / per_byte).map_err(|_| out_of_range())?;
        let shift = (index % per_byte) as u32 * u32::from(self.bits.count());
        Ok((byte, shift))
    }

    /// The raw value of entry `index`.
    pub fn get_value(&self, index: u64) -> Result<u8, StatusListError> {
        let (byte, shift) = self.locate(index)?;
        let stored = self.bytes.get(byte).ok_or(StatusListError::IndexOutOfRange { index, len: self.len })?;
        Ok((stored >> shift) & self.bits.max_value())
    }

    /// The status of entry `index`.
    pub fn get(&self, index: u64) -> Result<Status, StatusListError> {
        self.get_value(index).map(Status::from)
    }

    /// Stores a raw value at `index`. A value wider than the list's bits is an error, never
    /// silently truncated.
    pub fn set_value(&mut self, index: u64, value: u8) -> Result<(), StatusListError> {
        let bits = self.bits;
        if value > bits.max_value() {
            return Err(StatusListError::ValueTooWide { value, bits: bits.count() });
        }
        let (byte, shift) = self.locate(index)?;
        let len = self.len;
        let stored = self.bytes.get_mut(byte).ok_or(StatusListError::IndexOutOfRange { index, len })?;
        *stored = (*stored & !(bits.max_value() << shift)) | (value << shift);
        Ok(())
    }

    /// Stores `status` at `index`.
    pub fn set(&mut self, index: u64, status: Status) -> Result<(), StatusListError> {
        self.set_value(index, status.value())
    }

    /// Every entry's raw value in index order.
    pub fn values(&self) -> impl Iterator<Item = u8> + '_ {
        let bits = self.bits;
        let per_byte = bits.entries_per_byte();
        self.bytes
            .iter()
            .flat_map(move |byte| {
                (0..per_byte).map(move |slot| (byte >> (slot * usize::from(bits.count()))) & bits.max_value())
            })
            .take(usize::try_from(self.len).unwrap_or(usize::MAX))
    }

    /// How many entries hold exactly `status`.
    pub fn count(&self, status: Status) -> u64 {
        let value = status.value();
        if value > self.bits.max_value() {
            return 0;
        }
        if self.bits == Bits::One {
            // Unused bits past `len` are always zero (`new` allocates exactly, `set` refuses
            // indexes past the end), so a population count is exact for ones.
            let ones: u64 = self.bytes.iter().map(|byte| u64::from(byte.count_ones())).sum();
            return if value == 1 { ones } else { self.len.saturating_sub(ones) };
        }
        self.values().filter(|&entry| entry == value).count() as u64
    }

    /// How many entries are anything but VALID (revoked, suspended or other).
    pub fn count_non_valid(&self) -> u64 {
        self.len.saturating_sub(self.count(Status::Valid))
    }

    /// The indexes whose entry is not VALID, with their status, in index order.
    pub fn non_valid(&self) -> impl Iterator<Item = (u64, Status)> + '_ {
        self.values()
            .enumerate()
            .filter(|(_, value)| *value != 0)
            .map(|(index, value)| (index as u64, Status::from(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_example_packs_to_b9_a3() {
        let statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let mut list = StatusList::new(Bits::One, 16).unwrap();
        for (index, value) in statuses.iter().enumerate() {
            list.set_value(index as u64, *value).unwrap();
        }
        assert_eq!(list.as_bytes(), [0xb9, 0xa3]);
        assert_eq!(list.values().collect::<Vec<_>>(), statuses);
        assert_eq!(list.count(Status::Invalid), 9);
        assert_eq!(list.count(Status::Valid), 7);
    }

    #[test]
    fn two_bit_example_packs_to_c9_44_f9() {
        let statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let mut list = StatusList::new(Bits::Two, 12).unwrap();
        for (index, value) in statuses.iter().enumerate() {
            list.set_value(index as u64, *value).unwrap();
        }
        assert_eq!(list.as_bytes(), [0xc9, 0x44, 0xf9]);
        assert_eq!(list.get(1).unwrap(), Status::Suspended);
        assert_eq!(list.get(3).unwrap(), Status::ApplicationSpecific(3));
        assert_eq!(list.count_non_valid(), 9);
    }

    #[test]
    fn set_overwrites_only_its_own_bits() {
        for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
            let mut list = StatusList::new(bits, 37).unwrap();
            for index in 0..37 {
                list.set_value(index, bits.max_value()).unwrap();
            }
            list.set_value(17, 0).unwrap();
            for index in 0..37 {
                let expected = if index == 17 { 0 } else { bits.max_value() };
                assert_eq!(list.get_value(index).unwrap(), expected, "{bits:?} {index}");
            }
            assert_eq!(list.count_non_valid(), 36);
        }
    }

    #[test]
    fn rejects_value_too_wide_and_index_out_of_range() {
        let mut list = StatusList::new(Bits::One, 10).unwrap();
        assert_eq!(list.set(0, Status::Suspended), Err(StatusListError::ValueTooWide { value: 2, bits: 1 }));
        assert_eq!(list.get(10), Err(StatusListError::IndexOutOfRange { index: 10, len: 10 }));
        assert_eq!(
            list.set(u64::MAX, Status::Invalid),
            Err(StatusListError::IndexOutOfRange { index: u64::MAX, len: 10 })
        );
        assert!(matches!(StatusList::new(Bits::Eight, u64::MAX), Err(StatusListError::ListTooLarge { .. })));
    }

    proptest::proptest! {
        #[test]
        fn set_then_get_matches_a_plain_vector(
            bits in proptest::sample::select(vec![Bits::One, Bits::Two, Bits::Four, Bits::Eight]),
            writes in proptest::collection::vec((0u64..300, proptest::num::u8::ANY), 0..200),
        ) {
            let mut list = StatusList::new(bits, 300).unwrap();
            let mut model = vec![0u8; 300];
            for (index, value) in writes {
                let value = value & bits.max_value();
                list.set_value(index, value).unwrap();
                model[index as usize] = value;
            }
            proptest::prop_assert_eq!(list.values().collect::<Vec<_>>(), model.clone());
            let non_zero = model.iter().filter(|&&v| v != 0).count() as u64;
            proptest::prop_assert_eq!(list.count_non_valid(), non_zero);
            let again = StatusList::from_bytes(bits, list.as_bytes().to_vec());
            for (index, value) in model.iter().enumerate() {
                proptest::prop_assert_eq!(again.get_value(index as u64).unwrap(), *value);
            }
        }
    }

    #[test]
    fn status_values_map_to_registered_meanings() {
        assert_eq!(Status::from(0), Status::Valid);
        assert_eq!(Status::from(0x0d), Status::ApplicationSpecific(0x0d));
        assert_eq!(Status::from(0x04), Status::Reserved(0x04));
        assert!((0..=255u8).all(|value| Status::from(value).value() == value));
        assert!(matches!(Bits::from_wire(3), Err(StatusListError::UnsupportedBits(3))));
    }
}
