//! The mapping authority's state as bytes: deterministic CBOR with the crate's strict codec
//! (docs/discovery.md §13.6, docs/decisions/0127).
//!
//! ```cddl
//! authority-state = {
//!   0 => 1,                         ; format version
//!   1 => authority-id,
//!   2 => uint,                      ; last serial used
//!   3 => [* challenge],             ; ascending by SII
//!   4 => [* proof],                 ; unused proofs of control, ascending by SII
//!   5 => [* [sii, [+ time]]],       ; when codes were sent, per SII
//!   6 => [* [sii, [+ time]]],       ; when wrong codes came back, per SII
//!   7 => [* [time, bstr]],          ; latest assertion per SII: [proven-at, signed assertion]
//!   8 => [* [uint, sii, time]],     ; unexpired assertions: [serial, SII, expires-at]
//!   9 => [* [time, bstr]],          ; published revocations: [drop-after, signed revocation]
//! }
//! challenge = [bstr .size 16, sii, [* user-uri], bstr .size 32, time, time, uint]
//!             ; id, SII, requested SSIs, code digest, created-at, expires-at, wrong attempts
//! proof = [bstr .size 16, sii, [* user-uri], time, time]
//!             ; challenge id, SII, requested SSIs, proven-at, expires-at
//! ```
//!
//! The signed objects are kept as signed; everything about them (serial, times, entries,
//! target) is read back from their payloads on import.

use std::collections::BTreeMap;

use mimi_types::id::{ProviderDomain, UserUri};

use super::code::{CHALLENGE_ID_LEN, ChallengeId};
use super::proof::ProofOfControl;
use super::state::{Challenge, Issued, MAX_LOGGED_TIMES, Published, State};
use crate::assertion::decode_ssi;
use crate::cbor::{Reader, Writer};
use crate::error::{Error, Malformed};
use crate::limits::{MAX_OBJECT_LEN, MAX_SSIS};
use crate::object::decode_authority;
use crate::sii::Sii;
use crate::verify::{decode_assertion, decode_revocation};

/// Version of the state format.
const VERSION: u64 = 1;
/// Number of top-level fields.
const FIELDS: usize = 10;
/// Most elements any list in the state may claim (nothing is allocated from a claim).
const MAX_LIST: usize = 1 << 28;

fn ssis(w: &mut Writer, list: &[UserUri]) {
    w.array(list.len());
    for u in list {
        w.text(u.as_str());
    }
}

fn times(w: &mut Writer, log: &BTreeMap<Sii, Vec<u64>>) {
    w.array(log.len());
    for (sii, ts) in log {
        w.array(2);
        sii.encode(w);
        w.array(ts.len());
        for t in ts {
            w.uint(*t);
        }
    }
}

/// Encode `state` of `authority`.
pub(crate) fn encode(authority: &ProviderDomain, state: &State) -> Vec<u8> {
    let mut w = Writer::new();
    w.map(FIELDS);
    w.uint(0);
    w.uint(VERSION);
    w.uint(1);
    w.text(authority.as_str());
    w.uint(2);
    w.uint(state.last_serial);
    w.uint(3);
    w.array(state.challenges.len());
    for c in state.challenges.values() {
        w.array(7);
        w.bytes(c.id.as_bytes());
        c.sii.encode(&mut w);
        ssis(&mut w, &c.requested);
        w.bytes(&c.digest);
        w.uint(c.created_at);
        w.uint(c.expires_at);
        w.uint(u64::from(c.attempts));
    }
    w.uint(4);
    w.array(state.proofs.len());
    for p in state.proofs.values() {
        w.array(5);
        w.bytes(p.id.as_bytes());
        p.sii.encode(&mut w);
        ssis(&mut w, &p.requested_ssis);
        w.uint(p.proven_at);
        w.uint(p.expires_at);
    }
    w.uint(5);
    times(&mut w, &state.sends);
    w.uint(6);
    times(&mut w, &state.failures);
    w.uint(7);
    w.array(state.records.len());
    for r in state.records.values() {
        w.array(2);
        w.uint(r.proven_at);
        w.bytes(&r.bytes);
    }
    w.uint(8);
    w.array(state.live_serials.len());
    for (serial, (sii, expires_at)) in &state.live_serials {
        w.array(3);
        w.uint(*serial);
        sii.encode(&mut w);
        w.uint(*expires_at);
    }
    w.uint(9);
    w.array(state.revocations.len());
    for p in &state.revocations {
        w.array(2);
        w.uint(p.drop_after);
        w.bytes(&p.bytes);
    }
    w.into_bytes()
}

/// A fixed-length array header.
fn tuple(r: &mut Reader<'_>, n: usize, what: &'static str) -> Result<(), Malformed> {
    if r.array(n, what)? == n {
        Ok(())
    } else {
        Err(Malformed::UnexpectedType { expected: what })
    }
}

fn challenge_id(r: &mut Reader<'_>) -> Result<ChallengeId, Malformed> {
    let b = r.bytes(CHALLENGE_ID_LEN, CHALLENGE_ID_LEN, "challenge id")?;
    let mut id = [0u8; CHALLENGE_ID_LEN];
    id.copy_from_slice(b);
    Ok(ChallengeId::from_bytes(id))
}

fn requested(r: &mut Reader<'_>) -> Result<Vec<UserUri>, Malformed> {
    let n = r.array(MAX_SSIS, "requested SSIs")?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(decode_ssi(r)?);
    }
    if v.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Malformed::NotSorted("requested SSIs"));
    }
    Ok(v)
}

/// Insert into a map keyed by SII, refusing duplicates and unsorted keys.
fn insert_sorted<V>(map: &mut BTreeMap<Sii, V>, sii: Sii, v: V) -> Result<(), Malformed> {
    if map.last_key_value().is_some_and(|(last, _)| last >= &sii) {
        return Err(Malformed::NotSorted("SIIs"));
    }
    map.insert(sii, v);
    Ok(())
}

fn decode_times(r: &mut Reader<'_>) -> Result<BTreeMap<Sii, Vec<u64>>, Malformed> {
    let n = r.array(MAX_LIST, "SII logs")?;
    let mut log = BTreeMap::new();
    for _ in 0..n {
        tuple(r, 2, "[SII, times]")?;
        let sii = Sii::decode(r)?;
        let k = r.array(MAX_LOGGED_TIMES, "times")?;
        let mut ts = Vec::with_capacity(k);
        for _ in 0..k {
            ts.push(r.uint("time")?);
        }
        if ts.is_empty() || ts.windows(2).any(|w| w[0] > w[1]) {
            return Err(Malformed::NotSorted("times"));
        }
        insert_sorted(&mut log, sii, ts)?;
    }
    Ok(log)
}

fn decode_challenges(r: &mut Reader<'_>, state: &mut State) -> Result<(), Malformed> {
    let n = r.array(MAX_LIST, "challenges")?;
    for _ in 0..n {
        tuple(r, 7, "challenge")?;
        let id = challenge_id(r)?;
        let sii = Sii::decode(r)?;
        let requested = requested(r)?;
        let mut digest = [0u8; 32];
        digest.copy_from_slice(r.bytes(32, 32, "code digest")?);
        let created_at = r.uint("created-at")?;
        let expires_at = r.uint("expires-at")?;
        let attempts =
            u32::try_from(r.uint("attempts")?).map_err(|_| Malformed::OutOfRange("attempts"))?;
        if state.challenge_ids.insert(id, sii.clone()).is_some() {
            return Err(Malformed::NotSorted("challenge ids (duplicate)"));
        }
        let c = Challenge {
            id,
            sii: sii.clone(),
            requested,
            digest,
            created_at,
            expires_at,
            attempts,
        };
        insert_sorted(&mut state.challenges, sii, c)?;
    }
    Ok(())
}

fn decode_proofs(r: &mut Reader<'_>, state: &mut State) -> Result<(), Malformed> {
    let n = r.array(MAX_LIST, "proofs")?;
    for _ in 0..n {
        tuple(r, 5, "proof")?;
        let id = challenge_id(r)?;
        let sii = Sii::decode(r)?;
        let p = ProofOfControl {
            id,
            sii: sii.clone(),
            requested_ssis: requested(r)?,
            proven_at: r.uint("proven-at")?,
            expires_at: r.uint("expires-at")?,
        };
        insert_sorted(&mut state.proofs, sii, p)?;
    }
    Ok(())
}

fn decode_records(
    r: &mut Reader<'_>,
    authority: &ProviderDomain,
    state: &mut State,
) -> Result<(), Malformed> {
    let n = r.array(MAX_LIST, "records")?;
    for _ in 0..n {
        tuple(r, 2, "record")?;
        let proven_at = r.uint("proven-at")?;
        let signed = r.bytes(1, MAX_OBJECT_LEN, "assertion")?;
        let (a, _) = decode_assertion(signed).map_err(inner)?;
        if a.authority() != authority {
            return Err(Malformed::Identifier("assertion (another authority's)"));
        }
        let issued = Issued {
            serial: a.serial(),
            issued_at: a.issued_at(),
            expires_at: a.expires_at(),
            entries: a.ssis().to_vec(),
            proven_at,
            bytes: signed.to_vec(),
        };
        insert_sorted(&mut state.records, a.sii().clone(), issued)?;
    }
    Ok(())
}

fn decode_serials(r: &mut Reader<'_>, state: &mut State) -> Result<(), Malformed> {
    let n = r.array(MAX_LIST, "live serials")?;
    let mut prev = None;
    for _ in 0..n {
        tuple(r, 3, "live serial")?;
        let serial = r.uint("serial")?;
        if prev.is_some_and(|p| p >= serial) {
            return Err(Malformed::NotSorted("serials"));
        }
        prev = Some(serial);
        let sii = Sii::decode(r)?;
        let expires_at = r.uint("expires-at")?;
        state.live_serials.insert(serial, (sii, expires_at));
    }
    Ok(())
}

fn decode_revocations(
    r: &mut Reader<'_>,
    authority: &ProviderDomain,
    state: &mut State,
) -> Result<(), Malformed> {
    let n = r.array(MAX_LIST, "revocations")?;
    for _ in 0..n {
        tuple(r, 2, "published revocation")?;
        let drop_after = r.uint("drop-after")?;
        let signed = r.bytes(1, MAX_OBJECT_LEN, "revocation")?;
        let (rev, _) = decode_revocation(signed).map_err(inner)?;
        if rev.authority() != authority {
            return Err(Malformed::Identifier("revocation (another authority's)"));
        }
        state.revocations.push(Published {
            target: rev.target().clone(),
            issued_at: rev.issued_at(),
            drop_after,
            bytes: signed.to_vec(),
        });
    }
    Ok(())
}

/// The next top-level key, which must be `k`: the fields come in order, each once.
fn key(r: &mut Reader<'_>, k: u64) -> Result<(), Malformed> {
    if r.uint("state field key")? == k {
        Ok(())
    } else {
        Err(Malformed::MapKeyOrder)
    }
}

/// The reason inside a decoding error.
fn inner(e: Error) -> Malformed {
    match e {
        Error::Malformed(m) | Error::Invalid(m) | Error::State(m) => m,
        _ => Malformed::UnexpectedType {
            expected: "a signed object",
        },
    }
}

/// Decode state exported by [`encode`] for `authority`.
pub(crate) fn decode(bytes: &[u8], authority: &ProviderDomain) -> Result<State, Error> {
    decode_inner(bytes, authority).map_err(Error::State)
}

fn decode_inner(bytes: &[u8], authority: &ProviderDomain) -> Result<State, Malformed> {
    let mut r = Reader::new(bytes);
    if r.map(FIELDS, "state fields")? != FIELDS {
        return Err(Malformed::MissingField("state field"));
    }
    let mut state = State::default();
    key(&mut r, 0)?;
    if r.uint("state version")? != VERSION {
        return Err(Malformed::UnknownKind("state version"));
    }
    key(&mut r, 1)?;
    if &decode_authority(&mut r)? != authority {
        return Err(Malformed::Identifier("authority (not the signer's)"));
    }
    key(&mut r, 2)?;
    state.last_serial = r.uint("last serial")?;
    key(&mut r, 3)?;
    decode_challenges(&mut r, &mut state)?;
    key(&mut r, 4)?;
    decode_proofs(&mut r, &mut state)?;
    key(&mut r, 5)?;
    state.sends = decode_times(&mut r)?;
    key(&mut r, 6)?;
    state.failures = decode_times(&mut r)?;
    key(&mut r, 7)?;
    decode_records(&mut r, authority, &mut state)?;
    key(&mut r, 8)?;
    decode_serials(&mut r, &mut state)?;
    key(&mut r, 9)?;
    decode_revocations(&mut r, authority, &mut state)?;
    r.finish()?;
    let max_serial = state
        .records
        .values()
        .map(|i| i.serial)
        .chain(state.live_serials.keys().copied())
        .max()
        .unwrap_or(0);
    if max_serial > state.last_serial {
        return Err(Malformed::OutOfRange(
            "last serial (below an issued serial)",
        ));
    }
    // Records hold signed assertions; what later revocations removed from them is derived.
    let published: Vec<_> = state
        .revocations
        .iter()
        .map(|p| (p.target.clone(), p.issued_at))
        .collect();
    for (target, issued_at) in &published {
        state.forget_revoked(target, *issued_at);
    }
    state.rebuild_revoked_at();
    Ok(state)
}
