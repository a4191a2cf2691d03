//! Property tests: encodings round-trip exactly; arbitrary bytes never panic a decoder, and
//! whatever decodes re-encodes to the same bytes; sealing round-trips.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_lookup::{
    BlindedQuery, DpKey, Evaluation, Index, LookupRequest, LookupResponse, RecordId, Removal,
    SealedRecord, UploadEntry, UploadRequest, UploadResponse, UploadStatus,
};
use proptest::prelude::*;

fn sealed() -> impl Strategy<Value = SealedRecord> {
    (
        any::<[u8; 12]>(),
        proptest::collection::vec(any::<u8>(), 17..300),
    )
        .prop_map(|(n, c)| SealedRecord::new(n, c).unwrap())
}

fn index() -> impl Strategy<Value = Index> {
    any::<[u8; 32]>().prop_map(Index::from_bytes)
}

fn status() -> impl Strategy<Value = UploadStatus> {
    prop_oneof![
        Just(UploadStatus::Stored),
        Just(UploadStatus::Duplicate),
        Just(UploadStatus::Replaced),
        Just(UploadStatus::IndexFull),
        Just(UploadStatus::StoreFull),
        Just(UploadStatus::Expired),
        Just(UploadStatus::ExpiryTooFar),
    ]
}

proptest! {
    #[test]
    fn sealed_records_round_trip(s in sealed()) {
        let b = s.encode();
        prop_assert_eq!(SealedRecord::decode(&b).unwrap(), s);
    }

    #[test]
    fn lookups_round_trip(i in index(), records in proptest::collection::vec(sealed(), 0..6)) {
        let req = LookupRequest { index: i };
        prop_assert_eq!(LookupRequest::decode(&req.encode()).unwrap(), req);
        let resp = LookupResponse::new(records).unwrap();
        prop_assert_eq!(LookupResponse::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn uploads_round_trip(
        entries in proptest::collection::vec((index(), any::<u64>(), sealed()), 0..5),
        removals in proptest::collection::vec((index(), any::<[u8; 32]>()), 0..5),
        statuses in proptest::collection::vec(status(), 0..8),
        removed in proptest::collection::vec(any::<bool>(), 0..8),
    ) {
        let entries: Vec<_> = entries
            .into_iter()
            .map(|(index, expires_at, record)| UploadEntry { index, expires_at, record })
            .collect();
        let removals: Vec<_> = removals
            .into_iter()
            .map(|(index, id)| Removal { index, record_id: RecordId::from_bytes(id) })
            .collect();
        if let Ok(req) = UploadRequest::new(entries, removals) {
            prop_assert_eq!(UploadRequest::decode(&req.encode()).unwrap(), req);
        }
        let resp = UploadResponse { statuses, removed };
        prop_assert_eq!(UploadResponse::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn seal_open_round_trips(seed in any::<u64>(), record in proptest::collection::vec(any::<u8>(), 1..2000)) {
        let key = DpKey::from_bytes(&{
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&seed.to_le_bytes());
            k[8] = 1;
            k
        }).unwrap();
        let secret = key.direct_secret(&id("+12025550101")).unwrap();
        let s = secret.seal(&record, &mut rng(seed)).unwrap();
        prop_assert_eq!(s.ciphertext().len(), record.len() + 16);
        let again = SealedRecord::decode(&s.encode()).unwrap();
        prop_assert_eq!(secret.open(&again).unwrap(), record);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decoded_values_re_encode(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(v) = BlindedQuery::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = Evaluation::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = SealedRecord::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = LookupRequest::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = LookupResponse::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = UploadRequest::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = UploadResponse::decode(&bytes) { prop_assert_eq!(v.encode(), bytes.clone()); }
        if let Ok(v) = mimi_lookup::MemoryStore::from_snapshot(&bytes, 0, 1000) {
            prop_assert_eq!(v.snapshot(), bytes.clone());
        }
    }

    #[test]
    fn structured_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200), which in 0u8..4) {
        // Start from valid heads so the decoders get past the version.
        let mut b = match which {
            0 => vec![0x83, 0x01, 0x48, 0, 0, 0, 0, 0, 0, 0, 0],
            1 => vec![0x84, 0x01, 0x48, 0, 0, 0, 0, 0, 0, 0, 0],
            2 => vec![0x83, 0x01],
            _ => vec![0x82, 0x01],
        };
        b.extend(tail);
        let _ = BlindedQuery::decode(&b);
        let _ = Evaluation::decode(&b);
        let _ = UploadRequest::decode(&b);
        let _ = UploadResponse::decode(&b);
        let _ = LookupResponse::decode(&b);
        let _ = SealedRecord::decode(&b);
        let _ = mimi_lookup::MemoryStore::from_snapshot(&b, 0, 1000);
    }
}

#[test]
fn evaluations_round_trip() {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let siis: Vec<_> = (0..64)
        .map(|n| id(&format!("+1202555{:04}", 100 + n)))
        .collect();
    let (_, q) = mimi_lookup::blind_batch(key.public(), &siis, &mut rng(2)).unwrap();
    assert_eq!(BlindedQuery::decode(&q.encode()).unwrap(), q);
    let e = mimi_lookup::evaluate(&key, &q, &mut rng(3)).unwrap();
    assert_eq!(Evaluation::decode(&e.encode()).unwrap(), e);
    assert_eq!(e.len(), 64);
    assert!(
        mimi_lookup::blind_batch(key.public(), &[siis.clone(), siis].concat(), &mut rng(4))
            .is_err()
    );
}
