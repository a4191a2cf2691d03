//! The room's application state in the MLS GroupContext: reading the room components from an
//! `app_data_dictionary`, and computing a commit's dictionary changes from its AppDataUpdate
//! proposals. Clients and the hub run the same code, so both compute the same GroupContext.

use std::collections::BTreeMap;

use mimi_types::wire::components::{self as c, ComponentId};
use mimi_types::wire::{
    JoinLinksData, ParticipantListData, RoomComponentData, RoomComponentUpdate,
};
use openmls::component::ComponentData;
use openmls::group::AppDataDictionaryUpdater;
use openmls::prelude::{AppDataDictionary, AppDataUpdateOperation, AppDataUpdateProposal};

use crate::error::RoomError;
use crate::policy::{PolicyState, apply_participant_updates};

/// Read the policy-relevant components from a GroupContext dictionary.
///
/// The participant list, roles and base policy must be present (a MIMI room always has them);
/// preauthorization and metadata may be absent.
pub fn policy_state(dict: &AppDataDictionary) -> Result<PolicyState, RoomError> {
    let get = |id: ComponentId| -> Result<Option<RoomComponentData>, RoomError> {
        match dict.get(&id) {
            Some(bytes) => Ok(RoomComponentData::decode(id, bytes)?),
            None => Ok(None),
        }
    };
    let missing = |what: &'static str| RoomError::MissingComponent(what);
    let participants = match get(c::PARTICIPANT_LIST)? {
        Some(RoomComponentData::ParticipantList(p)) => p,
        _ => return Err(missing("participant_list")),
    };
    let roles = match get(c::ROLES_LIST)? {
        Some(RoomComponentData::Roles(r)) => r,
        _ => return Err(missing("roles_list")),
    };
    let base = match get(c::BASE_ROOM_POLICY)? {
        Some(RoomComponentData::BaseRoom(b)) => b,
        _ => return Err(missing("base_room_policy")),
    };
    let preauth = match get(c::PREAUTH_LIST)? {
        Some(RoomComponentData::PreAuth(p)) => p,
        _ => Default::default(),
    };
    let metadata = match get(c::ROOM_METADATA)? {
        Some(RoomComponentData::RoomMetadata(m)) => Some(m),
        _ => None,
    };
    Ok(PolicyState {
        roles,
        preauth,
        base,
        participants,
        metadata,
    })
}

/// The dictionary entries of a room's policy state (for creating a group).
pub fn policy_components(state: &PolicyState) -> Result<AppDataDictionary, RoomError> {
    let mut entries = vec![
        RoomComponentData::ParticipantList(state.participants.clone()),
        RoomComponentData::Roles(state.roles.clone()),
        RoomComponentData::PreAuth(state.preauth.clone()),
        RoomComponentData::BaseRoom(state.base.clone()),
    ];
    if let Some(m) = &state.metadata {
        entries.push(RoomComponentData::RoomMetadata(m.clone()));
    }
    let mut dict = AppDataDictionary::new();
    for entry in entries {
        dict.insert(entry.component_id(), entry.encode()?);
    }
    Ok(dict)
}

/// Compute the dictionary changes of a commit from its AppDataUpdate proposals
/// (draft-ietf-mls-extensions "Updating Application Data").
///
/// Per component, the proposals must be one `remove` or one or more `update`s. The
/// participant list applies its incremental updates in order (protocol-06 §7.5), join links
/// likewise; every other room component is replaced by its single update (several updates of
/// a replaced component in one commit are invalid: docs/decisions/0008). Unknown components
/// are invalid: a MIMI room only carries components this implementation understands.
pub fn resolve_updates<'a>(
    updater: &mut AppDataDictionaryUpdater<'_>,
    proposals: impl Iterator<Item = &'a AppDataUpdateProposal>,
) -> Result<(), RoomError> {
    let mut by_component: BTreeMap<ComponentId, Vec<&AppDataUpdateOperation>> = BTreeMap::new();
    for p in proposals {
        by_component
            .entry(p.component_id())
            .or_default()
            .push(p.operation());
    }
    for (id, ops) in by_component {
        let removes = ops
            .iter()
            .filter(|op| matches!(op, AppDataUpdateOperation::Remove))
            .count();
        if removes > 0 {
            // mls-extensions: a single remove, or updates only.
            if ops.len() != 1 {
                return Err(RoomError::InvalidAppDataUpdate {
                    component: id,
                    reason: "a remove must be the only proposal for its component".into(),
                });
            }
            if updater.old_value(id).is_none() {
                return Err(RoomError::InvalidAppDataUpdate {
                    component: id,
                    reason: "remove of a component that is not set".into(),
                });
            }
            if is_required(id) {
                return Err(RoomError::InvalidAppDataUpdate {
                    component: id,
                    reason: "this component cannot be removed from a MIMI room".into(),
                });
            }
            updater.remove(&id);
            continue;
        }
        let mut updates = Vec::with_capacity(ops.len());
        for op in ops {
            if let AppDataUpdateOperation::Update(bytes) = op {
                match RoomComponentUpdate::decode(id, bytes.as_slice())? {
                    Some(u) => updates.push(u),
                    None => {
                        return Err(RoomError::InvalidAppDataUpdate {
                            component: id,
                            reason: "unknown component".into(),
                        });
                    }
                }
            }
        }
        let new_value = new_component_value(id, updater.old_value(id), &updates)?;
        updater.set(ComponentData::from_parts(id, new_value.into()));
    }
    Ok(())
}

/// Components a MIMI room must always have.
fn is_required(id: ComponentId) -> bool {
    matches!(
        id,
        c::PARTICIPANT_LIST | c::ROLES_LIST | c::BASE_ROOM_POLICY
    )
}

fn new_component_value(
    id: ComponentId,
    old: Option<&[u8]>,
    updates: &[RoomComponentUpdate],
) -> Result<Vec<u8>, RoomError> {
    match id {
        c::PARTICIPANT_LIST => {
            let list = match old {
                Some(bytes) => match RoomComponentData::decode(id, bytes)? {
                    Some(RoomComponentData::ParticipantList(l)) => l,
                    _ => ParticipantListData::default(),
                },
                None => ParticipantListData::default(),
            };
            let diffs: Vec<_> = updates
                .iter()
                .filter_map(|u| match u {
                    RoomComponentUpdate::ParticipantList(d) => Some(d),
                    _ => None,
                })
                .collect();
            let new = apply_participant_updates(&list, &diffs)?;
            Ok(encode(&new)?)
        }
        c::JOIN_LINKS => {
            let mut links = match old {
                Some(bytes) => match RoomComponentData::decode(id, bytes)? {
                    Some(RoomComponentData::JoinLinks(l)) => l,
                    _ => JoinLinksData::default(),
                },
                None => JoinLinksData::default(),
            };
            for u in updates {
                if let RoomComponentUpdate::JoinLinks(diff) = u {
                    links = apply_join_links_update(&links, diff)?;
                }
            }
            Ok(encode(&links)?)
        }
        _ => match updates {
            [single] => Ok(single.encode()?),
            _ => Err(RoomError::InvalidAppDataUpdate {
                component: id,
                reason: "more than one update of a replaced component in one commit".into(),
            }),
        },
    }
}

fn apply_join_links_update(
    links: &JoinLinksData,
    diff: &mimi_types::wire::JoinLinksUpdate,
) -> Result<JoinLinksData, RoomError> {
    let mut removed = std::collections::BTreeSet::new();
    for &i in &diff.removed_indices {
        if i as usize >= links.links.len() || !removed.insert(i) {
            return Err(RoomError::InvalidAppDataUpdate {
                component: c::JOIN_LINKS,
                reason: format!("join link index {i} does not exist or is removed twice"),
            });
        }
    }
    let mut out: Vec<_> = links
        .links
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(&(*i as u32)))
        .map(|(_, l)| l.clone())
        .collect();
    out.extend(diff.added_links.iter().cloned());
    Ok(JoinLinksData { links: out })
}

fn encode<T: tls_codec::Serialize>(value: &T) -> Result<Vec<u8>, RoomError> {
    value
        .tls_serialize_detached()
        .map_err(|e| RoomError::Internal(format!("encoding a component: {e:?}")))
}
