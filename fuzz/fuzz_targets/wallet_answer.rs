//! The wallet's `direct_post` body: `application/x-www-form-urlencoded` bytes decoded to pairs
//! the way the HTTP layer does, then `WalletAnswer::from_form`. Must never panic.
#![no_main]

use segl_verifier::flow::WalletAnswer;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let _ = WalletAnswer::from_form(&fields);
});
