//! Mapping revocations: signed removals (discovery-requirements R9, R10).

use mimi_types::id::{ProviderDomain, UserUri};

use crate::assertion::decode_ssi;
use crate::cbor::{Reader, Writer};
use crate::error::Malformed;
use crate::object::{
    Extensions, ObjectKind, decode_authority, decode_payload_map, decode_type, key, required, set,
};
use crate::sii::Sii;

/// Target kind codes.
mod target_kind {
    pub const SERIAL: u64 = 1;
    pub const MAPPING: u64 = 2;
    pub const SII: u64 = 3;
}

/// What a revocation removes (docs/discovery.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RevocationTarget {
    /// The signer's own assertion with this serial. `[1, serial]`
    Serial(u64),
    /// The mapping of `sii` to `ssi`, in every assertion the revocation reaches that was issued
    /// at or before the revocation. `[2, sii, ssi]`
    Mapping {
        /// The SII.
        sii: Sii,
        /// The SSI to remove from that SII's mappings.
        ssi: UserUri,
    },
    /// Every mapping of `sii`, in every assertion the revocation reaches that was issued at or
    /// before the revocation (e.g. the number or address was reassigned). `[3, sii]`
    Sii(Sii),
}

impl RevocationTarget {
    /// The SII this target concerns, if it names one.
    pub fn sii(&self) -> Option<&Sii> {
        match self {
            RevocationTarget::Serial(_) => None,
            RevocationTarget::Mapping { sii, .. } | RevocationTarget::Sii(sii) => Some(sii),
        }
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            RevocationTarget::Serial(s) => {
                w.array(2);
                w.uint(target_kind::SERIAL);
                w.uint(*s);
            }
            RevocationTarget::Mapping { sii, ssi } => {
                w.array(3);
                w.uint(target_kind::MAPPING);
                sii.encode(w);
                w.text(ssi.as_str());
            }
            RevocationTarget::Sii(sii) => {
                w.array(2);
                w.uint(target_kind::SII);
                sii.encode(w);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Malformed> {
        let n = r.array(3, "revocation target elements")?;
        let wrong = Malformed::UnexpectedType {
            expected: "revocation target [kind, ...]",
        };
        if n == 0 {
            return Err(wrong);
        }
        let t = match (r.uint("revocation target kind")?, n) {
            (target_kind::SERIAL, 2) => RevocationTarget::Serial(r.uint("serial")?),
            (target_kind::MAPPING, 3) => RevocationTarget::Mapping {
                sii: Sii::decode(r)?,
                ssi: decode_ssi(r)?,
            },
            (target_kind::SII, 2) => RevocationTarget::Sii(Sii::decode(r)?),
            (target_kind::SERIAL | target_kind::MAPPING | target_kind::SII, _) => {
                return Err(wrong);
            }
            _ => return Err(Malformed::UnknownKind("revocation target kind")),
        };
        Ok(t)
    }
}

/// A revocation's content: "the signer removes `target` as of `issued_at`".
///
/// Revocations do not expire; who may sign which target, and which assertions it then reaches,
/// is decided by the verifier's trust set ([`crate::Permissions`], docs/decisions/0106).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    authority: ProviderDomain,
    issued_at: u64,
    target: RevocationTarget,
    extensions: Extensions,
}

impl Revocation {
    /// A revocation by `authority` (the signer), effective for assertions issued at or before
    /// `issued_at`.
    pub fn new(authority: ProviderDomain, issued_at: u64, target: RevocationTarget) -> Self {
        Self {
            authority,
            issued_at,
            target,
            extensions: Extensions::new(),
        }
    }

    /// The same revocation with these extensions.
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// The signer's authority id.
    pub fn authority(&self) -> &ProviderDomain {
        &self.authority
    }

    /// Issued-at, UNIX seconds.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// What is removed.
    pub fn target(&self) -> &RevocationTarget {
        &self.target
    }

    /// The extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The deterministic CBOR payload (docs/discovery.md §2.3).
    pub fn to_payload(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(4 + self.extensions.len());
        w.uint(key::TYPE);
        w.uint(ObjectKind::Revocation.type_code());
        w.uint(key::AUTHORITY);
        w.text(self.authority.as_str());
        w.uint(key::ISSUED_AT);
        w.uint(self.issued_at);
        w.uint(key::TARGET);
        self.target.encode(&mut w);
        self.extensions.encode(&mut w);
        w.into_bytes()
    }

    /// Decode a payload strictly.
    pub fn from_payload(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(bytes);
        let (mut ty, mut authority, mut iat, mut target) = (None, None, None, None);
        let extensions = decode_payload_map(&mut r, 4, |k, r| match k {
            key::TYPE => set(&mut ty, decode_type(r, ObjectKind::Revocation)?),
            key::AUTHORITY => set(&mut authority, decode_authority(r)?),
            key::ISSUED_AT => set(&mut iat, r.uint("issued-at")?),
            key::TARGET => set(&mut target, RevocationTarget::decode(r)?),
            _ => Ok(false),
        })?;
        r.finish()?;
        required(ty, "type")?;
        Ok(Self {
            authority: required(authority, "authority")?,
            issued_at: required(iat, "issued-at")?,
            target: required(target, "target")?,
            extensions,
        })
    }
}
