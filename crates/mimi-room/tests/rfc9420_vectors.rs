//! RFC 9420 interop test vectors (mlswg/mls-implementations, see tests/vectors/README.md),
//! run through the code paths the hub uses:
//!
//! - `crypto-basics`: SignWithLabel and EncryptWithLabel built with `sign_content`, the
//!   layout the hub signs GroupInfo responses with, verifies request signatures with, and
//!   encrypts GroupInfo responses with (`hub/join.rs`).
//! - `welcome`: the KeyPackageRef of the new member's KeyPackage, computed as the hub does
//!   when it routes a Welcome (`hub/update.rs`), is the one the Welcome names.
//! - `tree-validation`: ratchet trees through the bounded `RatchetTree` decoder and OpenMLS
//!   tree verification (what `PublicGroup::from_external` runs on a room's tree); a tampered
//!   tree is refused.
//! - `messages`: every framed message, GroupInfo, KeyPackage, Welcome and ratchet tree decodes
//!   with the wire types the hub reads requests with, and re-encodes byte for byte.
//! - `deserialization`: MLS variable-length headers.

use mimi_room::profile::CIPHERSUITE;
use mimi_types::wire::{GroupInfo, KeyPackage, MlsMessage, RatchetTree, Welcome, sign_content};
use openmls::prelude::{GroupId, ProtocolVersion};
use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::{HpkeCiphertext, SignatureScheme};
use serde_json::Value;
use tls_codec::{Deserialize as _, Serialize as _};

fn vectors(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    serde_json::from_str(&text).expect("JSON")
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("{key} missing"))).expect("hex")
}

#[test]
fn crypto_basics_sign_and_encrypt_with_label() {
    let crypto = RustCrypto::default();
    let all = vectors("crypto-basics.json");
    assert_eq!(all.len(), 1);
    for v in all {
        assert_eq!(v["cipher_suite"], 1);
        // SignWithLabel: the vector's signature verifies over our SignContent.
        let s = &v["sign_with_label"];
        let label = s["label"].as_str().expect("label");
        let content = sign_content(label, &bytes(s, "content")).expect("SignContent");
        crypto
            .verify_signature(
                SignatureScheme::ED25519,
                &content,
                &bytes(s, "pub"),
                &bytes(s, "signature"),
            )
            .expect("the vector's signature verifies over our SignContent");
        let mut wrong = bytes(s, "content");
        wrong.push(0);
        let wrong = sign_content(label, &wrong).expect("SignContent");
        assert!(
            crypto
                .verify_signature(
                    SignatureScheme::ED25519,
                    &wrong,
                    &bytes(s, "pub"),
                    &bytes(s, "signature")
                )
                .is_err()
        );
        // EncryptWithLabel: EncryptContext has SignContent's layout (RFC 9420 §5.1.3).
        let e = &v["encrypt_with_label"];
        let info = sign_content(e["label"].as_str().expect("label"), &bytes(e, "context"))
            .expect("EncryptContext");
        let ciphertext = HpkeCiphertext {
            kem_output: bytes(e, "kem_output").into(),
            ciphertext: bytes(e, "ciphertext").into(),
        };
        let plaintext = crypto
            .hpke_open(
                CIPHERSUITE.hpke_config(),
                &ciphertext,
                &bytes(e, "priv"),
                &info,
                &[],
            )
            .expect("the vector's ciphertext opens with our EncryptContext");
        assert_eq!(plaintext, bytes(e, "plaintext"));
    }
}

#[test]
fn welcome_names_the_key_package_ref_the_hub_computes() {
    let crypto = RustCrypto::default();
    for v in vectors("welcome.json") {
        let kp_message = MlsMessage::from_bytes(bytes(&v, "key_package")).expect("MLSMessage");
        let openmls::prelude::MlsMessageBodyIn::KeyPackage(kp) =
            kp_message.parse().expect("parse").extract()
        else {
            panic!("not a KeyPackage");
        };
        let kp = kp
            .validate(&crypto, ProtocolVersion::Mls10)
            .expect("the KeyPackage verifies");
        let reference = kp.hash_ref(&crypto).expect("KeyPackageRef");
        let welcome = MlsMessage::from_bytes(bytes(&v, "welcome")).expect("MLSMessage");
        let openmls::prelude::MlsMessageBodyIn::Welcome(welcome) =
            welcome.parse().expect("parse").extract()
        else {
            panic!("not a Welcome");
        };
        assert!(
            welcome
                .secrets()
                .iter()
                .any(|s| s.new_member().as_slice() == reference.as_slice()),
            "the Welcome does not name the KeyPackage's reference"
        );
    }
}

#[test]
fn tree_validation_through_the_bounded_decoder() {
    let crypto = RustCrypto::default();
    let all = vectors("tree-validation.json");
    assert!(!all.is_empty());
    for (i, v) in all.iter().enumerate() {
        let raw = bytes(v, "tree");
        let group_id = GroupId::from_slice(&bytes(v, "group_id"));
        let tree = RatchetTree::from_bytes(raw.clone()).expect("ratchet tree decodes");
        assert_eq!(tree.as_bytes(), raw.as_slice(), "vector {i}: byte-exact");
        tree.parse()
            .expect("parse")
            .into_verified(CIPHERSUITE, &crypto, &group_id)
            .unwrap_or_else(|e| panic!("vector {i}: a valid tree is refused: {e:?}"));
        // The same tree for another group: leaf signatures cover the group ID, so a
        // verifier that checks them refuses it.
        let other = GroupId::from_slice(b"another group");
        assert!(
            tree.parse()
                .expect("parse")
                .into_verified(CIPHERSUITE, &crypto, &other)
                .is_err(),
            "vector {i}: a tree verified for the wrong group"
        );
    }
}

/// Decode with `decode`, and check that the value re-encodes to the same bytes.
fn round_trip<T: tls_codec::Serialize>(what: &str, raw: &[u8], decoded: T) {
    assert_eq!(
        decoded.tls_serialize_detached().expect("encode"),
        raw,
        "{what} does not re-encode byte for byte"
    );
}

#[test]
fn messages_decode_with_the_hub_wire_types_and_round_trip() {
    let all = vectors("messages.json");
    assert_eq!(all.len(), 12);
    for v in &all {
        for key in [
            "mls_welcome",
            "mls_group_info",
            "mls_key_package",
            "public_message_application",
            "public_message_proposal",
            "public_message_commit",
            "private_message",
        ] {
            let raw = bytes(v, key);
            let m = MlsMessage::from_bytes(raw.clone()).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(m.as_bytes(), raw.as_slice(), "{key}");
            round_trip(key, &raw, m.parse().expect("parse"));
        }
        // The bare structs inside the framed ones, as UpdateRequest and FanoutMessage
        // carry them.
        let group_info = bytes(v, "mls_group_info");
        GroupInfo::from_bytes(group_info[4..].to_vec()).expect("bare GroupInfo");
        let key_package = bytes(v, "mls_key_package");
        KeyPackage::from_bytes(key_package[4..].to_vec()).expect("bare KeyPackage");
        let welcome = bytes(v, "mls_welcome");
        Welcome::from_bytes(welcome[4..].to_vec()).expect("bare Welcome");
        let tree = bytes(v, "ratchet_tree");
        let t = RatchetTree::from_bytes(tree.clone()).expect("ratchet tree");
        round_trip("ratchet_tree", &tree, t.parse().expect("parse"));
    }
}

#[test]
fn variable_length_headers() {
    for v in vectors("deserialization.json") {
        let header = bytes(&v, "vlbytes_header");
        let length = v["length"].as_u64().expect("length") as usize;
        let mut encoded = header.clone();
        encoded.resize(header.len() + length, 0xaa);
        let decoded = tls_codec::VLBytes::tls_deserialize_exact(&encoded)
            .unwrap_or_else(|e| panic!("header {}: {e:?}", hex::encode(&header)));
        assert_eq!(decoded.as_slice().len(), length);
        // Our encoder writes the same (minimal) header back.
        assert_eq!(
            tls_codec::VLBytes::new(vec![0xaa; length])
                .tls_serialize_detached()
                .expect("encode"),
            encoded
        );
    }
}
