//! Safe AAD (draft-ietf-mls-extensions "Safe Additional Authenticated Data"): the
//! `authenticated_data` of an MLS message as a list of component items, e.g. MIMI's
//! `frank_aad` (protocol-06 §5.4.1).

use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::WireMessage;
use super::components::ComponentId;

/// `SafeAADItem`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct SafeAadItem {
    /// The component the item belongs to.
    pub component_id: ComponentId,
    /// The item's data.
    pub aad_item_data: VLByteVec,
}

/// `SafeAAD`: items sorted by component ID.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct SafeAad {
    /// The items.
    pub aad_items: Vec<SafeAadItem>,
}

impl SafeAad {
    /// The data of the item for `component`, if any.
    pub fn item(&self, component: ComponentId) -> Option<&[u8]> {
        self.aad_items
            .iter()
            .find(|i| i.component_id == component)
            .map(|i| i.aad_item_data.as_slice())
    }
}

impl WireMessage for SafeAad {
    const NAME: &'static str = "SafeAAD";
}
