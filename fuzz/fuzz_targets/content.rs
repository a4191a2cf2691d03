//! The strict MIMI content decoder on arbitrary bytes. Anything that decodes must re-encode
//! to exactly the input (deterministic CBOR has one encoding per value), and message IDs,
//! validation and rendering of an accepted message must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimi_content::{MessageIdVersion, ValidationContext, check_structure, decode, render_text};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode(data) else {
        return;
    };
    assert_eq!(msg.to_cbor(), data, "accepted bytes re-encode differently");
    check_structure(&msg).expect("a decoded message satisfies the structural limits");
    // Accepted bytes always start with array(7) + 16-byte salt, so these only fail for
    // missing sender/room URIs.
    mimi_content::message_id_08(data, "mimi://a.example/u/a", "mimi://a.example/r/r").expect("id");
    mimi_content::message_id_07(data, "mimi://a.example/u/a", "mimi://a.example/r/r").expect("id");
    for version in [MessageIdVersion::Draft07, MessageIdVersion::Draft08] {
        let _ = msg.message_id(version, data);
    }
    let _ = msg.validate(&ValidationContext::new(1_700_000_000_000));
    let _ = render_text(&msg);
});
