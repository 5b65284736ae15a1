//! Danish CPR numbers (DENMARK.md R4): ten digits whose first six are a valid date `DDMMYY`,
//! the century read from the seventh digit by the CPR office's table. Never the modulus-11
//! check: numbers issued since 2007 need not pass it. Shown in logs only masked, `DDMMYY-****`.

use time::{Date, Month};

/// A CPR number in its ten-digit form.
#[derive(Clone, PartialEq, Eq)]
pub struct Cpr(String);

/// Why a text is not a CPR number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CprError {
    /// Not ten digits (an optional hyphen after the sixth allowed).
    #[error("a CPR number is 10 digits, DDMMYYSSSS or DDMMYY-SSSS")]
    Form,
    /// The first six digits are no date in the century the seventh digit names.
    #[error("the CPR number's first six digits {0} are not a valid date DDMMYY")]
    Date(String),
}

impl Cpr {
    /// Parses `DDMMYYSSSS` or `DDMMYY-SSSS` (surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<Cpr, CprError> {
        let text = text.trim();
        let digits: String = match text.split_once('-') {
            Some((date, serial)) if date.len() == 6 && serial.len() == 4 => format!("{date}{serial}"),
            Some(_) => return Err(CprError::Form),
            None => text.to_owned(),
        };
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CprError::Form);
        }
        let cpr = Cpr(digits);
        cpr.birth_date().ok_or_else(|| CprError::Date(cpr.0[..6].to_owned()))?;
        Ok(cpr)
    }

    /// The birth date the number encodes, `None` when it is no calendar date.
    pub fn birth_date(&self) -> Option<Date> {
        let number = |range: std::ops::Range<usize>| self.0.get(range)?.parse::<u16>().ok();
        let (day, month, year, seventh) = (number(0..2)?, number(2..4)?, number(4..6)?, number(6..7)?);
        let year = i32::from(century(seventh, year)? + year);
        let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
        Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
    }

    /// The ten digits.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `DDMMYY-SSSS`, the form people write.
    pub fn hyphenated(&self) -> String {
        format!("{}-{}", &self.0[..6], &self.0[6..])
    }

    /// `DDMMYY-****`: the only form that may appear in a log.
    pub fn masked(&self) -> String {
        format!("{}-****", &self.0[..6])
    }
}

impl std::fmt::Debug for Cpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cpr({})", self.masked())
    }
}

impl std::fmt::Display for Cpr {
    /// Masked, so that a CPR number formatted into a log line never shows whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

/// The century of two-digit year `year` by the seventh digit (cpr.dk, "Personnummeret i
/// CPR-systemet"): 0–3 → 1900s; 4 and 9 → 2000s for 00–36, else 1900s; 5–8 → 2000s for
/// 00–57, else 1800s.
fn century(seventh: u16, year: u16) -> Option<u16> {
    Some(match (seventh, year) {
        (0..=3, _) => 1900,
        (4 | 9, 0..=36) => 2000,
        (4 | 9, _) => 1900,
        (5..=8, 0..=57) => 2000,
        (5..=8, _) => 1800,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modulus_11(digits: &str) -> bool {
        const WEIGHTS: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        let sum: u32 = digits.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        sum.is_multiple_of(11)
    }

    #[test]
    fn accepts_a_number_that_fails_modulus_11() {
        assert!(!modulus_11("0101904000"));
        let cpr = Cpr::parse("010190-4000").unwrap();
        assert_eq!(cpr.digits(), "0101904000");
        assert_eq!(cpr.birth_date(), Date::from_calendar_date(1990, Month::January, 1).ok());
    }

    #[test]
    fn reads_the_century_from_the_seventh_digit() {
        let year = |text: &str| Cpr::parse(text).unwrap().birth_date().unwrap().year();
        assert_eq!(year("0101991234"), 1999);
        assert_eq!(year("0101364234"), 2036);
        assert_eq!(year("0101374234"), 1937);
        assert_eq!(year("0101575234"), 2057);
        assert_eq!(year("0101585234"), 1858);
        assert_eq!(year("0101369234"), 2036);
        assert_eq!(year("0101379234"), 1937);
    }

    #[test]
    fn rejects_bad_forms_and_dates() {
        assert_eq!(Cpr::parse("31029012345"), Err(CprError::Form));
        assert_eq!(Cpr::parse("31029O1234"), Err(CprError::Form));
        assert_eq!(Cpr::parse("3102-901234"), Err(CprError::Form));
        assert_eq!(Cpr::parse("3102901234"), Err(CprError::Date("310290".into())));
        assert_eq!(Cpr::parse("2902011234"), Err(CprError::Date("290201".into())));
        // 29 February 2000 exists (seventh digit 4, year 00 → 2000); 1900 had none.
        assert!(Cpr::parse("2902004234").is_ok());
        assert_eq!(Cpr::parse("2902001234"), Err(CprError::Date("290200".into())));
    }

    #[test]
    fn shows_only_the_date_part() {
        let cpr = Cpr::parse("1503901234").unwrap();
        assert_eq!(cpr.masked(), "150390-****");
        assert_eq!(format!("{cpr} {cpr:?}"), "150390-**** Cpr(150390-****)");
        assert_eq!(cpr.hyphenated(), "150390-1234");
    }
}
