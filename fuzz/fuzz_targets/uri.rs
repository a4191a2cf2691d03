//! Every identifier parser on arbitrary text. Nothing may panic, and anything that parses must
//! re-parse from its display form to an equal value with the same display form (normalization
//! is idempotent). MIMI URIs must also survive the URL path form.
#![no_main]

use std::fmt::{Debug, Display};
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use mimi_types::id::{
    ClientUri, ConnectionId, DisplayName, EmailAddress, GroupUri, Handle, IdError, MAX_URI_LEN,
    MimiUri, PhoneNumber, ProviderDomain, ProviderUri, PseudonymUri, RoomUri, TeamUri, UserUri,
};

fn idempotent<T>(s: &str) -> Option<T>
where
    T: FromStr<Err = IdError> + Display + PartialEq + Debug,
{
    let value = T::from_str(s).ok()?;
    let shown = value.to_string();
    let again = match T::from_str(&shown) {
        Ok(v) => v,
        Err(e) => panic!("{s:?} normalized to {shown:?}, which does not parse: {e}"),
    };
    assert_eq!(again, value, "{s:?} -> {shown:?}");
    assert_eq!(again.to_string(), shown, "{s:?}");
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(uri) = idempotent::<MimiUri>(s) {
        assert!(uri.as_str().is_ascii() && uri.as_str().len() <= MAX_URI_LEN);
        let path = uri.to_url_path();
        assert_eq!(MimiUri::from_url_path(&path).as_ref(), Ok(&uri), "{path}");
    }
    idempotent::<ProviderUri>(s);
    idempotent::<UserUri>(s);
    idempotent::<PseudonymUri>(s);
    idempotent::<ClientUri>(s);
    idempotent::<RoomUri>(s);
    idempotent::<GroupUri>(s);
    idempotent::<TeamUri>(s);
    idempotent::<ProviderDomain>(s);
    idempotent::<Handle>(s);
    idempotent::<PhoneNumber>(s);
    idempotent::<EmailAddress>(s);
    idempotent::<ConnectionId>(s);
    idempotent::<DisplayName>(s);
    if let Ok(uri) = MimiUri::from_url_path(s) {
        assert_eq!(MimiUri::parse(uri.as_str()).as_ref(), Ok(&uri));
    }
    if let Ok(room) = RoomUri::from_url_path(s) {
        assert_eq!(
            RoomUri::from_url_path(&room.to_url_path()).as_ref(),
            Ok(&room)
        );
    }
    if let Ok(p) = PhoneNumber::parse_with_region(s, "GB") {
        assert_eq!(PhoneNumber::parse(p.as_str()).as_ref(), Ok(&p));
    }
    if let Ok(c) = ConnectionId::parse_with_region(s, "US") {
        assert_eq!(ConnectionId::parse(&c.to_string()).as_ref(), Ok(&c));
    }
});
