//! The test vectors of docs/discovery.md §9, byte for byte, and an independent check of the
//! signature over a hand-built Sig_structure (RFC 9052 §4.4), without coset.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use ed25519_dalek::{Signature, VerifyingKey};
use mimi_discovery::{RevocationSet, RevocationTarget, Verdict, verify};
use sha2::{Digest, Sha256};

const PUBLIC_KEY: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const KID: &str = "76de9b87b740805f";
const ASSERTION: &str = "d2845837a301320378276170706c69636174696f6e2f6d696d692d6d617070696e672d617373657274696f6e2b63626f72044876de9b87b740805fa05849a701010269622e6578616d706c650301041a684d9000051a68751d000682016c2b31323032353535303130310781a201766d696d693a2f2f622e6578616d706c652f752f626f620200584069ba5ec896c77cf5cf4e293f945398c1d1efdb2921badf0828fff9e801171e0b65eb4184144e5f72765862df611544cd737ae21a95bfacc202fe886851dad50f";
const REVOCATION: &str = "d2845838a301320378286170706c69636174696f6e2f6d696d692d6d617070696e672d7265766f636174696f6e2b63626f72044876de9b87b740805fa0583da401020269622e6578616d706c65041a684ee18008830282016c2b3132303235353530313031766d696d693a2f2f622e6578616d706c652f752f626f625840a7ca7611451957c07d37021cc2ff64aebfd6f5c8df3a7b5c92ec5ca09e923f0457cdb87c716069a37e699d02bcc600f0e7748d0bc86e08146035005c31889c0e";

#[test]
fn key_and_kid() {
    let pk = b_signer().verifying_key();
    assert_eq!(hex::encode(pk.as_bytes()), PUBLIC_KEY);
    let digest = Sha256::new()
        .chain_update(b"mimi-discovery-kid-v1")
        .chain_update(pk.as_bytes())
        .finalize();
    assert_eq!(hex::encode(&digest[..8]), KID);
    assert_eq!(b_kid().to_string(), KID);
}

#[test]
fn the_assertion_vector() {
    let bytes = bob_assertion_bytes();
    assert_eq!(hex::encode(&bytes), ASSERTION);
    assert_eq!(bytes.len(), 201);
    let t = trust();
    let none = RevocationSet::new();
    assert!(verify(&bytes, 1_750_000_000, &t, &none).is_verified());
    assert_eq!(verify(&bytes, 1_752_506_000, &t, &none), Verdict::Expired);
}

#[test]
fn the_revocation_vector() {
    let bytes = revocation(
        &b_signer(),
        1_750_000_000,
        RevocationTarget::Mapping {
            sii: bob_phone(),
            ssi: user("mimi://b.example/u/bob"),
        },
    );
    assert_eq!(hex::encode(&bytes), REVOCATION);
    assert_eq!(bytes.len(), 190);
    let t = trust();
    let mut revs = RevocationSet::new();
    revs.insert(&bytes, 1_750_000_000, &t).unwrap();
    assert_eq!(
        verify(&hex::decode(ASSERTION).unwrap(), 1_750_000_000, &t, &revs),
        Verdict::Revoked
    );
}

#[test]
fn sig_structure_by_hand() {
    for vector in [ASSERTION, REVOCATION] {
        let (protected, payload, sig) = split(&hex::decode(vector).unwrap());
        // ["Signature1", protected, h'', payload]
        let mut tbs = vec![0x84, 0x6a];
        tbs.extend_from_slice(b"Signature1");
        tbs.extend(bstr(&protected));
        tbs.push(0x40);
        tbs.extend(bstr(&payload));
        let key = VerifyingKey::from_bytes(&hex::decode(PUBLIC_KEY).unwrap().try_into().unwrap())
            .unwrap();
        key.verify_strict(&tbs, &Signature::from_slice(&sig).unwrap())
            .unwrap();
    }
}
