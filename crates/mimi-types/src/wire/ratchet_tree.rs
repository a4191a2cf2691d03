//! draft-mahy-mls-ratchet-tree-options-03: how a ratchet tree travels beside a Welcome or
//! GroupInfo, and `PartialGroupInfo` for hub-side GroupInfo reconstruction.

use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::common::DomainName;
use super::mls::RatchetTree;

/// A tree fetched from an HTTPS URL, with its signature.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct HttpsTree {
    /// An HTTPS URL serving the tree.
    pub ratchet_tree_url: VLByteVec,
    /// Signature over the tree.
    pub tree_signature: VLByteVec,
}

/// An out-of-band tree: only its signature travels.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct OutOfBandTree {
    /// Signature over the tree.
    pub tree_signature: VLByteVec,
}

/// `RatchetTreeOption` (ratchet-tree-options-03 §3; the draft's enum says `httpsUri(2)` and its
/// select `httpsUrl`: one case, value 2).
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum RatchetTreeOption {
    /// `full(1)`: the whole tree.
    #[tls_codec(discriminant = 1)]
    Full(RatchetTree),
    /// `httpsUri(2)`: a URL and a signature.
    #[tls_codec(discriminant = 2)]
    HttpsUri(HttpsTree),
    /// `outOfBand(3)`: the receiver already has the tree.
    #[tls_codec(discriminant = 3)]
    OutOfBand(OutOfBandTree),
    /// `distributionService(4)`: the DS (the hub) reconstructs the tree from handshakes.
    #[tls_codec(discriminant = 4)]
    DistributionService,
}

/// `DomainList` (ratchet-tree-options-03 §4): where tree URLs may point.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct DomainList {
    /// Allowed domains.
    pub domains: Vec<DomainName>,
}

/// `RatchetTreePresence` (ratchet-tree-options-03 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum RatchetTreePresence {
    /// No ratchet_tree extension.
    NoRatchetTree = 0,
    /// A ratchet_tree extension was present.
    Present = 1,
    /// It was removed.
    Removed = 2,
    /// It was added.
    Added = 3,
}

/// An RFC 9420 `Extension` kept as type + opaque data, so it is forwarded byte-exact
/// whatever the type (known, unknown or GREASE).
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct RawExtension {
    /// `ExtensionType`.
    pub extension_type: u16,
    /// `opaque extension_data<V>`.
    pub extension_data: VLByteVec,
}

/// `PartialGroupInfo` (ratchet-tree-options-03 §5): the committer's GroupInfo signature and
/// extensions; the hub rebuilds the full GroupInfo from the commit.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct PartialGroupInfo {
    /// Whether the GroupInfo carried a ratchet_tree extension.
    pub ratchet_tree_presence: RatchetTreePresence,
    /// GroupInfo extensions, excluding ratchet_tree.
    pub group_info_extensions: Vec<RawExtension>,
    /// The GroupInfo signature.
    pub signature: VLByteVec,
}
