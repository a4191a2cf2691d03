//! Test vectors of docs/discovery-lookup.md §"Test vectors", recomputed here independently
//! of the crate's internals from the specification (RFC 9497 Evaluate, HKDF-SHA256,
//! ChaCha20-Poly1305) and checked against the crate.
#![allow(clippy::unwrap_used)]

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use mimi_lookup::rand_core::{CryptoRng, Error as RngError, RngCore};
use mimi_lookup::{DpKey, SealedRecord, sii_input};
use mimi_types::id::ConnectionId;
use sha2::Sha256;
use voprf::{Ristretto255, VoprfServer};

/// Hands out fixed bytes (the nonce).
struct Fixed(Vec<u8>);

impl RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        unimplemented!()
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let n = dest.len();
        dest.copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Fixed {}

const SK: &str = "0707070707070707070707070707070707070707070707070707070707070707";
const PK: &str = "aaf82404e5f7bfa7352ce093e4aabe82435385d64aa870090a56d1aa36169800";
const KID: &str = "f0f3559b7f6a09e5";

struct Vector {
    written: &'static str,
    input: &'static str,
    oprf_output: &'static str,
    index: &'static str,
    seal_key: &'static str,
    sealed: &'static str,
}

const VECTORS: [Vector; 2] = [
    Vector {
        written: "+1 202 555 0101",
        input: "6d696d692d7369692d7631012b3132303235353530313031",
        oprf_output: "18f374dd1e9c8c37d12b2ae79d6d6a793a8fa0dcdb04db74617da910355fb1319c17d15308c2ddcaff0f166a899701a8ed00526b91456c973e0e731cd793cb46",
        index: "749e0944fa5ed3642ca8e37f2eef350267e25b7434f1c342443c31821e641c37",
        seal_key: "08a157afc8310cb404c2bb11d2b96821ae71c9631aaf0c5c62a0946ef89051f9",
        sealed: "83014c000102030405060708090a0b563e4e837826e3da899eee32455a0d1aad3e9ff2daf835",
    },
    Vector {
        written: "Bob@B.Example",
        input: "6d696d692d7369692d763102426f6240622e6578616d706c65",
        oprf_output: "e7927fc747933adca5193bb3a6654a451e5843db9cc84d966f2d3c254b1e56c2b83beea238c3d5cda758050e9f864d862390324f2d9499f87a2bfc1e4735d7f5",
        index: "a1898ff66ee95a09e3bc43094aab8034e3b0e3782108ed43bbae0799b408c4ad",
        seal_key: "ed85381262fb6e15102bfb6d1d72820ef4c27c452bc1cae649d62c845dbe5779",
        sealed: "83014c000102030405060708090a0b569c0f2af66c0a53c6330ef21e1efd5ecd5221b8838223",
    },
];

#[test]
fn vectors() {
    let key = DpKey::from_bytes(&hex::decode(SK).unwrap()).unwrap();
    assert_eq!(hex::encode(key.public().to_bytes()), PK);
    assert_eq!(hex::encode(key.public().id().as_bytes()), KID);
    let server = VoprfServer::<Ristretto255>::new_with_key(&hex::decode(SK).unwrap()).unwrap();
    for v in VECTORS {
        let sii = ConnectionId::parse(v.written).unwrap();
        let input = sii_input(&sii).unwrap();
        assert_eq!(hex::encode(&input), v.input);

        // Independently: RFC 9497 Evaluate, then the key schedule and the AEAD.
        let output = server.evaluate(&input).unwrap();
        let hk = Hkdf::<Sha256>::new(Some(b"mimi-lookup-v1"), &output);
        let mut index = [0u8; 32];
        hk.expand(b"mimi-lookup-v1 index", &mut index).unwrap();
        let mut seal_key = [0u8; 32];
        hk.expand(b"mimi-lookup-v1 seal key", &mut seal_key)
            .unwrap();
        let nonce: Vec<u8> = (0u8..12).collect();
        let mut aad = vec![1u8];
        aad.extend_from_slice(&index);
        let ct = ChaCha20Poly1305::new(Key::from_slice(&seal_key))
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: b"record",
                    aad: &aad,
                },
            )
            .unwrap();
        let mut sealed = vec![0x83, 0x01, 0x4c];
        sealed.extend_from_slice(&nonce);
        sealed.push(0x40 | ct.len() as u8);
        sealed.extend_from_slice(&ct);
        assert_eq!(hex::encode(output), v.oprf_output);
        assert_eq!(hex::encode(seal_key), v.seal_key);
        assert_eq!(hex::encode(index), v.index);
        assert_eq!(hex::encode(&sealed), v.sealed);

        // The crate agrees.
        let secret = key.direct_secret(&sii).unwrap();
        assert_eq!(hex::encode(secret.index().as_bytes()), v.index);
        let mine = secret.seal(b"record", &mut Fixed(nonce.clone())).unwrap();
        assert_eq!(hex::encode(mine.encode()), v.sealed);
        let theirs = SealedRecord::decode(&hex::decode(v.sealed).unwrap()).unwrap();
        assert_eq!(secret.open(&theirs).unwrap(), b"record");
    }
}
