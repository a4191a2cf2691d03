//! Ready-made role sets: the four examples of room-policy-03 Appendix A ("Role examples"),
//! transcribed as faithfully as the draft allows, plus an open room and a direct-message
//! room. Readings of the draft's defects are in docs/decisions/0037.

use mimi_types::wire::SingleSourceRoleChangeTargets;
use mimi_types::wire::components as c;
use mimi_types::wire::{BaseRoomPolicy, Bool, Capability as C, Role, RoleData, Utf8String};

/// A ready-made room policy: role set, base policy, creator role and member role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// room-policy-03 Appendix A "Cooperatively administered room" (friends, family, small
    /// peer groups): every `ordinary_user` may add and remove ordinary users and rename the
    /// room; `group_admin`s also ban, kick and change roles; `super_admin`s also change the
    /// membership style and preauthorization; a `policy_enforcer` (at most 2, never with
    /// clients) removes, bans and redefines roles. The creator is `super_admin`, added users
    /// are `ordinary_user`. Role indexes: [`cooperative`].
    CooperativelyAdministered,
    /// room-policy-03 Appendix A "Strictly administered room": ordinary users cannot add
    /// anyone; `group_admin`s add, remove, ban, kick and change roles; `super_admin`s also
    /// redefine roles. Non-participants hold `canUseJoinCode` (join codes are not evaluated
    /// by this engine, docs/decisions/0035). The creator is `super_admin`, added users are
    /// `ordinary_user`. Role indexes: [`strict`].
    StrictlyAdministered,
    /// room-policy-03 Appendix A "Moderated room": `guest`s only read, `attendee`s also join
    /// when preauthorized, `speaker`s send, `moderator`s manage participants,
    /// `super_admin`s redefine the room. The creator is `super_admin`, added users are
    /// `attendee`. Role indexes: [`moderated`].
    Moderated,
    /// room-policy-03 Appendix A "Multi-organization administered room": per-organization
    /// user and admin roles for organizations A, B and C (at most 3 admins per organization
    /// B and C), one `super_admin`. The creator is `super_admin`, added users are
    /// `org_a_user`. Role indexes: [`multi_org`].
    MultiOrganization,
    /// Not from the draft: anyone not banned may join on its own as `member` (`canOpenJoin`
    /// on role 0 with `(0, [member])`); `moderator`s remove, kick, ban, unban and change
    /// roles; `owner`s (at least one) also redefine the room. The room is `discoverable`.
    /// The creator is `owner`, added users are `member`. Role indexes: [`open`].
    OpenRoom,
    /// Not from the draft: a fixed-membership room (room-policy-03 §5, 1:1 or group direct
    /// messages). Every participant is a `member` who may add and remove its own clients,
    /// message and change the room's name, avatar, subject, mood and description; nobody
    /// joins, leaves, is removed or banned after creation. Create it with
    /// [`super::PolicyState::new_room_with`]. Role indexes: [`dm`].
    DirectMessage,
}

/// Role indexes of [`Preset::CooperativelyAdministered`].
pub mod cooperative {
    /// `banned`.
    pub const BANNED: u32 = 1;
    /// `ordinary_user`.
    pub const ORDINARY_USER: u32 = 2;
    /// `group_admin`.
    pub const GROUP_ADMIN: u32 = 3;
    /// `super_admin`.
    pub const SUPER_ADMIN: u32 = 4;
    /// `policy_enforcer`.
    pub const POLICY_ENFORCER: u32 = 5;
}

/// Role indexes of [`Preset::StrictlyAdministered`].
pub mod strict {
    /// `banned`.
    pub const BANNED: u32 = 1;
    /// `ordinary_user`.
    pub const ORDINARY_USER: u32 = 2;
    /// `group_admin`.
    pub const GROUP_ADMIN: u32 = 3;
    /// `super_admin`.
    pub const SUPER_ADMIN: u32 = 4;
    /// `policy_enforcer`.
    pub const POLICY_ENFORCER: u32 = 5;
}

/// Role indexes of [`Preset::Moderated`].
pub mod moderated {
    /// `banned`.
    pub const BANNED: u32 = 1;
    /// `guest`.
    pub const GUEST: u32 = 2;
    /// `attendee`.
    pub const ATTENDEE: u32 = 3;
    /// `speaker`.
    pub const SPEAKER: u32 = 4;
    /// `moderator`.
    pub const MODERATOR: u32 = 5;
    /// `super_admin`.
    pub const SUPER_ADMIN: u32 = 6;
    /// `policy_enforcer`.
    pub const POLICY_ENFORCER: u32 = 7;
}

/// Role indexes of [`Preset::MultiOrganization`].
pub mod multi_org {
    /// `banned`.
    pub const BANNED: u32 = 1;
    /// `org_a_user`.
    pub const ORG_A_USER: u32 = 2;
    /// `org_b_user`.
    pub const ORG_B_USER: u32 = 3;
    /// `org_c_user`.
    pub const ORG_C_USER: u32 = 4;
    /// `org_a_admin`.
    pub const ORG_A_ADMIN: u32 = 5;
    /// `org_b_admin`.
    pub const ORG_B_ADMIN: u32 = 6;
    /// `org_c_admin`.
    pub const ORG_C_ADMIN: u32 = 7;
    /// `super_admin`.
    pub const SUPER_ADMIN: u32 = 8;
    /// `policy_enforcer`.
    pub const POLICY_ENFORCER: u32 = 9;
}

/// Role indexes of [`Preset::OpenRoom`].
pub mod open {
    /// `banned`.
    pub const BANNED: u32 = 1;
    /// `member`.
    pub const MEMBER: u32 = 2;
    /// `moderator`.
    pub const MODERATOR: u32 = 3;
    /// `owner`.
    pub const OWNER: u32 = 4;
}

/// Role indexes of [`Preset::DirectMessage`].
pub mod dm {
    /// `banned` (present for a uniform shape; no role can ban).
    pub const BANNED: u32 = 1;
    /// `member`.
    pub const MEMBER: u32 = 2;
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 6] = [
        Preset::CooperativelyAdministered,
        Preset::StrictlyAdministered,
        Preset::Moderated,
        Preset::MultiOrganization,
        Preset::OpenRoom,
        Preset::DirectMessage,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::CooperativelyAdministered => "cooperatively-administered",
            Preset::StrictlyAdministered => "strictly-administered",
            Preset::Moderated => "moderated",
            Preset::MultiOrganization => "multi-organization",
            Preset::OpenRoom => "open",
            Preset::DirectMessage => "direct-message",
        }
    }

    /// The role the creator gets.
    pub fn creator_role(self) -> u32 {
        match self {
            Preset::CooperativelyAdministered => cooperative::SUPER_ADMIN,
            Preset::StrictlyAdministered => strict::SUPER_ADMIN,
            Preset::Moderated => moderated::SUPER_ADMIN,
            Preset::MultiOrganization => multi_org::SUPER_ADMIN,
            Preset::OpenRoom => open::OWNER,
            Preset::DirectMessage => dm::MEMBER,
        }
    }

    /// The role of an ordinary added participant.
    pub fn member_role(self) -> u32 {
        match self {
            Preset::CooperativelyAdministered => cooperative::ORDINARY_USER,
            Preset::StrictlyAdministered => strict::ORDINARY_USER,
            Preset::Moderated => moderated::ATTENDEE,
            Preset::MultiOrganization => multi_org::ORG_A_USER,
            Preset::OpenRoom => open::MEMBER,
            Preset::DirectMessage => dm::MEMBER,
        }
    }

    /// The base room policy (room-policy-03 §5): multi-device, no client or user limit, no
    /// pseudonyms, not persistent, not parent-dependent, using the roles and preauth
    /// components. Only [`Preset::DirectMessage`] has fixed membership and only
    /// [`Preset::OpenRoom`] is discoverable.
    pub fn base_policy(self) -> BaseRoomPolicy {
        BaseRoomPolicy {
            fixed_membership: Bool(self == Preset::DirectMessage),
            parent_dependant: Bool(false),
            parent_room: Vec::new(),
            multi_device: Bool(true),
            max_clients: None,
            max_users: None,
            pseudonyms_allowed: Bool(false),
            persistent_room: Bool(false),
            discoverable: Bool(self == Preset::OpenRoom),
            policy_component_ids: vec![c::ROLES_LIST, c::PREAUTH_LIST],
        }
    }

    /// The role definitions.
    pub fn roles(self) -> RoleData {
        let roles = match self {
            Preset::CooperativelyAdministered => cooperative_roles(),
            Preset::StrictlyAdministered => strict_roles(),
            Preset::Moderated => moderated_roles(),
            Preset::MultiOrganization => multi_org_roles(),
            Preset::OpenRoom => open_roles(),
            Preset::DirectMessage => dm_roles(),
        };
        RoleData { roles }
    }
}

/// Participant constraints: (minimum, maximum, minimum active, maximum active).
type Limits = (u32, Option<u32>, u32, Option<u32>);

/// No constraint.
const FREE: Limits = (0, None, 0, None);
/// Roles 0 and 1 of the draft's examples: nobody with that role may have clients.
const NO_CLIENTS: Limits = (0, None, 0, Some(0));
/// The examples' `policy_enforcer`: one or two, never with clients.
const ENFORCER: Limits = (1, Some(2), 0, Some(0));

fn role(
    index: u32,
    name: &str,
    description: &str,
    caps: Vec<C>,
    limits: Limits,
    changes: &[(u32, &[u32])],
) -> Role {
    let (min, max, min_active, max_active) = limits;
    Role {
        role_index: index,
        role_name: Utf8String::new(name).unwrap_or_default(),
        role_description: Utf8String::new(description).unwrap_or_default(),
        role_capabilities: caps,
        minimum_participants_constraint: min,
        maximum_participants_constraint: max,
        minimum_active_participants_constraint: min_active,
        maximum_active_participants_constraint: max_active,
        authorized_role_changes: changes
            .iter()
            .map(|(from, to)| SingleSourceRoleChangeTargets {
                from_role_index: *from,
                target_role_indexes: to.to_vec(),
            })
            .collect(),
    }
}

/// `base` followed by the capabilities of `extra` not already in it.
fn with(base: &[C], extra: &[C]) -> Vec<C> {
    let mut caps = base.to_vec();
    for cap in extra {
        if !caps.contains(cap) {
            caps.push(*cap);
        }
    }
    caps
}

fn no_role(caps: Vec<C>, limits: Limits, changes: &[(u32, &[u32])]) -> Role {
    role(
        0,
        "no_role",
        "not in the participant list",
        caps,
        limits,
        changes,
    )
}

fn banned() -> Role {
    role(
        1,
        "banned",
        "banned from the room",
        Vec::new(),
        NO_CLIENTS,
        &[],
    )
}

/// The examples' `policy_enforcer` capabilities ("does not include any other capabilities").
const ENFORCER_CAPS: &[C] = &[
    C::REMOVE_PARTICIPANT,
    C::CHANGE_USER_ROLE,
    C::BAN,
    C::UNBAN,
    C::CHANGE_ROLE_DEFINITIONS,
    C::CHANGE_PREAUTHORIZED_USER_LIST,
    C::CHANGE_MLS_OPERATIONAL_POLICIES,
    C::DESTROY_ROOM,
    C::SEND_MLS_REINIT_PROPOSAL,
];

const ENFORCER_DESCRIPTION: &str =
    "can remove a banned user from the list (cleanup) but not restore them";

fn cooperative_roles() -> Vec<Role> {
    let ordinary = vec![
        C::ADD_PARTICIPANT,
        C::REMOVE_PARTICIPANT,
        C::ADD_OWN_CLIENT,
        C::REMOVE_OWN_CLIENT,
        C::REMOVE_SELF,
        C::SEND_MESSAGE,
        C::RECEIVE_MESSAGE,
        C::COPY_MESSAGE,
        C::REPORT_ABUSE,
        C::REPLY_TO_MESSAGE,
        C::REACT_TO_MESSAGE,
        C::DELETE_OWN_REACTION,
        C::EDIT_OWN_MESSAGE,
        C::DELETE_OWN_MESSAGE,
        C::START_TOPIC,
        C::REPLY_IN_TOPIC,
        C::EDIT_OWN_TOPIC,
        C::UPLOAD_IMAGE,
        C::UPLOAD_VIDEO,
        C::UPLOAD_AUDIO,
        C::UPLOAD_ATTACHMENT,
        C::DOWNLOAD_IMAGE,
        C::DOWNLOAD_VIDEO,
        C::DOWNLOAD_AUDIO,
        C::DOWNLOAD_ATTACHMENT,
        C::SEND_LINK,
        C::SEND_LINK_PREVIEW,
        C::FOLLOW_LINK,
        C::COPY_LINK,
        C::CHANGE_ROOM_NAME,
        C::CHANGE_ROOM_AVATAR,
        C::CHANGE_ROOM_SUBJECT,
        C::CHANGE_ROOM_MOOD,
        C::CHANGE_OWN_NAME,
        C::CHANGE_OWN_PRESENCE,
        C::CHANGE_OWN_MOOD,
        C::CHANGE_OWN_AVATAR,
    ];
    // canRevokeVoice and canGrantVoice are not in the capability registry: left out
    let group_admin = with(
        &ordinary,
        &[
            C::BAN,
            C::UNBAN,
            C::KICK,
            C::CHANGE_USER_ROLE,
            C::DELETE_OTHER_MESSAGE,
            C::EDIT_OTHER_TOPIC,
            C::CHANGE_ROOM_DESCRIPTION,
        ],
    );
    let super_admin = with(
        &group_admin,
        &[
            C::CHANGE_ROOM_MEMBERSHIP_STYLE,
            C::CHANGE_PREAUTHORIZED_USER_LIST,
            C::DESTROY_ROOM,
        ],
    );
    vec![
        no_role(Vec::new(), NO_CLIENTS, &[]),
        banned(),
        role(
            2,
            "ordinary_user",
            "",
            ordinary,
            FREE,
            &[(0, &[2]), (2, &[0])],
        ),
        role(
            3,
            "group_admin",
            "",
            group_admin,
            (1, None, 0, None),
            &[
                (0, &[1, 2, 3]),
                (1, &[0, 2, 3]),
                (2, &[0, 1, 3]),
                (3, &[0, 1, 2]),
            ],
        ),
        role(
            4,
            "super_admin",
            "",
            super_admin,
            FREE,
            &[
                (0, &[1, 2, 3, 4]),
                (1, &[0, 2, 3, 4]),
                (2, &[0, 1, 3, 4]),
                (3, &[0, 1, 2, 4]),
                (4, &[0, 1, 2, 3]),
            ],
        ),
        role(
            5,
            "policy_enforcer",
            ENFORCER_DESCRIPTION,
            ENFORCER_CAPS.to_vec(),
            ENFORCER,
            &[
                (0, &[1]),
                (1, &[0]),
                (2, &[0, 1]),
                (3, &[0, 1]),
                (4, &[0, 1]),
            ],
        ),
    ]
}

fn strict_roles() -> Vec<Role> {
    let ordinary = vec![
        C::ADD_OWN_CLIENT,
        C::JOIN_IF_PREAUTHORIZED,
        C::REMOVE_OWN_CLIENT,
        C::REMOVE_SELF,
        C::CHANGE_OWN_ROLE,
        C::SEND_MESSAGE,
        C::RECEIVE_MESSAGE,
        C::COPY_MESSAGE,
        C::REPORT_ABUSE,
        C::REACT_TO_MESSAGE,
        C::DELETE_OWN_REACTION,
        C::EDIT_OWN_MESSAGE,
        C::DELETE_OWN_MESSAGE,
        C::START_TOPIC,
        C::REPLY_IN_TOPIC,
        C::UPLOAD_IMAGE,
        C::UPLOAD_VIDEO,
        C::UPLOAD_AUDIO,
        C::UPLOAD_ATTACHMENT,
        C::DOWNLOAD_IMAGE,
        C::DOWNLOAD_VIDEO,
        C::DOWNLOAD_AUDIO,
        C::DOWNLOAD_ATTACHMENT,
        C::SEND_LINK,
        C::SEND_LINK_PREVIEW,
        C::FOLLOW_LINK,
        C::COPY_LINK,
        C::CHANGE_OWN_NAME,
        C::CHANGE_OWN_PRESENCE,
        C::CHANGE_OWN_MOOD,
        C::CHANGE_OWN_AVATAR,
    ];
    let group_admin = with(
        &ordinary,
        &[
            C::ADD_PARTICIPANT,
            C::REMOVE_PARTICIPANT,
            C::BAN,
            C::UNBAN,
            C::KICK,
            C::CHANGE_USER_ROLE,
            C::CREATE_JOIN_CODE,
            C::DELETE_JOIN_CODE,
            C::DELETE_OTHER_REACTION,
            C::DELETE_OTHER_MESSAGE,
            C::EDIT_OWN_TOPIC,
            C::EDIT_OTHER_TOPIC,
            C::CHANGE_ROOM_DESCRIPTION,
            C::CHANGE_ROOM_NAME,
            C::CHANGE_ROOM_AVATAR,
            C::CHANGE_ROOM_SUBJECT,
            C::CHANGE_ROOM_MOOD,
        ],
    );
    let super_admin = with(
        &group_admin,
        &[
            C::CHANGE_ROOM_MEMBERSHIP_STYLE,
            C::CHANGE_ROLE_DEFINITIONS,
            C::CHANGE_PREAUTHORIZED_USER_LIST,
            C::DESTROY_ROOM,
            C::SEND_MLS_REINIT_PROPOSAL,
        ],
    );
    vec![
        no_role(vec![C::USE_JOIN_CODE], NO_CLIENTS, &[(0, &[2])]),
        banned(),
        role(
            2,
            "ordinary_user",
            "",
            ordinary,
            FREE,
            &[(0, &[2]), (2, &[0])],
        ),
        role(
            3,
            "group_admin",
            "",
            group_admin,
            (1, None, 0, None),
            &[
                (0, &[1, 2, 3]),
                (1, &[0, 2, 3]),
                (2, &[0, 1, 3]),
                (3, &[0, 1, 2]),
            ],
        ),
        role(
            4,
            "super_admin",
            "",
            super_admin,
            FREE,
            &[
                (0, &[1, 2, 3, 4]),
                (1, &[0, 2, 3, 4]),
                (2, &[0, 1, 3, 4]),
                (3, &[0, 1, 2, 4]),
                (4, &[0, 1, 2, 3]),
            ],
        ),
        role(
            5,
            "policy_enforcer",
            ENFORCER_DESCRIPTION,
            ENFORCER_CAPS.to_vec(),
            ENFORCER,
            &[
                (0, &[1]),
                (1, &[0]),
                (2, &[0, 1]),
                (3, &[0, 1]),
                (4, &[0, 1]),
            ],
        ),
    ]
}

fn moderated_roles() -> Vec<Role> {
    let guest = vec![
        C::REMOVE_SELF,
        C::RECEIVE_MESSAGE,
        C::COPY_MESSAGE,
        C::REACT_TO_MESSAGE,
        C::DELETE_OWN_REACTION,
        C::FOLLOW_LINK,
        C::COPY_LINK,
        C::DOWNLOAD_IMAGE,
        C::DOWNLOAD_VIDEO,
        C::DOWNLOAD_AUDIO,
    ];
    let attendee = with(
        &guest,
        &[
            C::ADD_OWN_CLIENT,
            C::JOIN_IF_PREAUTHORIZED,
            C::REMOVE_OWN_CLIENT,
            C::CHANGE_OWN_ROLE,
            C::REPORT_ABUSE,
            C::REPLY_IN_TOPIC,
            C::DOWNLOAD_ATTACHMENT,
            C::CHANGE_OWN_NAME,
            C::CHANGE_OWN_PRESENCE,
            C::CHANGE_OWN_AVATAR,
        ],
    );
    // the draft's speaker includes "all the capabilities authorized for a speaker": read as
    // attendee (docs/decisions/0037)
    let speaker = with(
        &attendee,
        &[
            C::SEND_MESSAGE,
            C::EDIT_OWN_MESSAGE,
            C::DELETE_OWN_MESSAGE,
            C::START_TOPIC,
            C::UPLOAD_IMAGE,
            C::UPLOAD_VIDEO,
            C::UPLOAD_AUDIO,
            C::UPLOAD_ATTACHMENT,
            C::SEND_LINK,
            C::SEND_LINK_PREVIEW,
        ],
    );
    // the draft's moderator includes "all the capabilities authorized for an ordinary_user",
    // a role this set lacks: read as speaker (docs/decisions/0037)
    let moderator = with(
        &speaker,
        &[
            C::ADD_PARTICIPANT,
            C::REMOVE_PARTICIPANT,
            C::BAN,
            C::UNBAN,
            C::KICK,
            C::CHANGE_USER_ROLE,
            C::CREATE_JOIN_CODE,
            C::DELETE_JOIN_CODE,
            C::DELETE_OTHER_REACTION,
            C::DELETE_OTHER_MESSAGE,
            C::EDIT_OWN_TOPIC,
            C::EDIT_OTHER_TOPIC,
            C::CHANGE_ROOM_NAME,
            C::CHANGE_ROOM_AVATAR,
            C::CHANGE_ROOM_SUBJECT,
            C::CHANGE_ROOM_MOOD,
        ],
    );
    let super_admin = with(
        &moderator,
        &[
            C::CHANGE_ROOM_DESCRIPTION,
            C::CHANGE_ROOM_MEMBERSHIP_STYLE,
            C::CHANGE_ROLE_DEFINITIONS,
            C::CHANGE_PREAUTHORIZED_USER_LIST,
            C::DESTROY_ROOM,
            C::SEND_MLS_REINIT_PROPOSAL,
        ],
    );
    vec![
        // the draft gives this no_role maximum_active_participants_constraint = null
        no_role(vec![C::USE_JOIN_CODE], FREE, &[(0, &[2, 3])]),
        banned(),
        role(2, "guest", "", guest, FREE, &[(0, &[2]), (2, &[0])]),
        role(3, "attendee", "", attendee, FREE, &[(0, &[3]), (3, &[0])]),
        role(4, "speaker", "", speaker, FREE, &[(0, &[4]), (4, &[0])]),
        role(
            5,
            "moderator",
            "",
            moderator,
            (1, None, 0, None),
            &[
                (0, &[1, 2, 3, 4, 5]),
                (1, &[0, 2, 3, 4, 5]),
                (2, &[0, 1, 3, 4, 5]),
                (3, &[0, 1, 2, 4, 5]),
                (4, &[0, 1, 2, 3, 5]),
                (5, &[0, 1, 2, 3, 4]),
            ],
        ),
        role(
            6,
            "super_admin",
            "",
            super_admin,
            FREE,
            &[
                (0, &[1, 2, 3, 4, 5, 6]),
                (1, &[0, 2, 3, 4, 5, 6]),
                (2, &[0, 1, 3, 4, 5, 6]),
                (3, &[0, 1, 2, 4, 5, 6]),
                (4, &[0, 1, 2, 3, 5, 6]),
                (5, &[0, 1, 2, 3, 4, 6]),
                (6, &[0, 1, 2, 3, 4, 5]),
            ],
        ),
        role(
            7,
            "policy_enforcer",
            ENFORCER_DESCRIPTION,
            ENFORCER_CAPS.to_vec(),
            ENFORCER,
            &[
                (0, &[1]),
                (1, &[0]),
                (2, &[0, 1]),
                (3, &[0, 1]),
                (4, &[0, 1]),
                (5, &[0, 1]),
                (6, &[0, 1]),
            ],
        ),
    ]
}

fn multi_org_roles() -> Vec<Role> {
    let org_b_user = vec![
        C::REMOVE_SELF,
        C::ADD_OWN_CLIENT,
        C::REMOVE_OWN_CLIENT,
        C::SEND_MESSAGE,
        C::RECEIVE_MESSAGE,
        C::COPY_MESSAGE,
        C::REPORT_ABUSE,
        C::REPLY_IN_TOPIC,
        C::REACT_TO_MESSAGE,
        C::DELETE_OWN_REACTION,
        C::EDIT_OWN_MESSAGE,
        C::SEND_LINK,
        C::SEND_LINK_PREVIEW,
        C::FOLLOW_LINK,
        C::COPY_LINK,
        C::DOWNLOAD_IMAGE,
        C::DOWNLOAD_VIDEO,
        C::DOWNLOAD_AUDIO,
        C::DOWNLOAD_ATTACHMENT,
        C::CHANGE_OWN_NAME,
        C::CHANGE_OWN_PRESENCE,
        C::CHANGE_OWN_AVATAR,
    ];
    let org_a_extra = [C::CHANGE_OWN_ROLE, C::JOIN_IF_PREAUTHORIZED];
    let org_a_user = with(&org_b_user, &org_a_extra);
    let org_b_admin = with(
        &org_b_user,
        &[
            C::DELETE_OWN_MESSAGE,
            C::START_TOPIC,
            C::UPLOAD_IMAGE,
            C::UPLOAD_VIDEO,
            C::UPLOAD_AUDIO,
            C::UPLOAD_ATTACHMENT,
            C::ADD_PARTICIPANT,
            C::REMOVE_PARTICIPANT,
            C::BAN,
            C::KICK,
            C::CHANGE_USER_ROLE,
        ],
    );
    let org_a_admin = with(&org_b_admin, &org_a_extra);
    let super_admin = with(
        &org_a_admin,
        &[
            C::UNBAN,
            C::DELETE_OTHER_REACTION,
            C::DELETE_OTHER_MESSAGE,
            C::EDIT_OWN_TOPIC,
            C::EDIT_OTHER_TOPIC,
            C::CHANGE_ROOM_DESCRIPTION,
            C::CHANGE_ROOM_NAME,
            C::CHANGE_ROOM_AVATAR,
            C::CHANGE_ROOM_SUBJECT,
            C::CHANGE_ROOM_MOOD,
            C::CHANGE_ROOM_MEMBERSHIP_STYLE,
            C::CHANGE_ROLE_DEFINITIONS,
            C::CHANGE_PREAUTHORIZED_USER_LIST,
            C::DESTROY_ROOM,
            C::SEND_MLS_REINIT_PROPOSAL,
        ],
    );
    let org_admin_limits = (1, Some(3), 1, None);
    vec![
        no_role(Vec::new(), NO_CLIENTS, &[]),
        banned(),
        role(
            2,
            "org_a_user",
            "",
            org_a_user,
            FREE,
            &[(0, &[2]), (2, &[0])],
        ),
        role(
            3,
            "org_b_user",
            "",
            org_b_user.clone(),
            FREE,
            &[(0, &[3]), (3, &[0])],
        ),
        role(
            4,
            "org_c_user",
            "",
            org_b_user,
            FREE,
            &[(0, &[4]), (4, &[0])],
        ),
        role(
            5,
            "org_a_admin",
            "",
            org_a_admin,
            FREE,
            &[(0, &[2, 5]), (2, &[0, 1, 5]), (5, &[0, 1, 2])],
        ),
        role(
            6,
            "org_b_admin",
            "",
            org_b_admin.clone(),
            org_admin_limits,
            &[(0, &[3, 6]), (3, &[0, 1, 6]), (6, &[0, 1, 3])],
        ),
        role(
            7,
            "org_c_admin",
            "",
            org_b_admin,
            org_admin_limits,
            &[(0, &[4, 7]), (4, &[0, 1, 7]), (7, &[0, 1, 4])],
        ),
        role(
            8,
            "super_admin",
            "",
            super_admin,
            (1, None, 1, None),
            &[
                (0, &[1, 2, 3, 4, 5, 6, 7, 8]),
                (1, &[0, 2, 3, 4, 5, 6, 7, 8]),
                (2, &[0, 1, 5, 8]),
                (3, &[0, 1, 6]),
                (4, &[0, 1, 7]),
                (5, &[0, 1, 2, 8]),
                (6, &[0, 1, 3]),
                (7, &[0, 1, 4]),
                (8, &[0, 1, 2, 5]),
            ],
        ),
        role(
            9,
            "policy_enforcer",
            ENFORCER_DESCRIPTION,
            ENFORCER_CAPS.to_vec(),
            ENFORCER,
            &[
                (0, &[1]),
                (1, &[0]),
                (3, &[0, 1]),
                (4, &[0, 1]),
                (5, &[0, 1]),
                (6, &[0, 1]),
                (7, &[0, 1]),
                (8, &[0, 1]),
            ],
        ),
    ]
}

/// Messaging capabilities of an ordinary participant of the open and DM presets.
const MESSAGING: &[C] = &[
    C::SEND_MESSAGE,
    C::RECEIVE_MESSAGE,
    C::COPY_MESSAGE,
    C::REPORT_ABUSE,
    C::REPLY_TO_MESSAGE,
    C::REACT_TO_MESSAGE,
    C::EDIT_REACTION,
    C::DELETE_OWN_REACTION,
    C::EDIT_OWN_MESSAGE,
    C::DELETE_OWN_MESSAGE,
    C::START_TOPIC,
    C::REPLY_IN_TOPIC,
    C::EDIT_OWN_TOPIC,
    C::UPLOAD_IMAGE,
    C::UPLOAD_VIDEO,
    C::UPLOAD_AUDIO,
    C::UPLOAD_ATTACHMENT,
    C::DOWNLOAD_IMAGE,
    C::DOWNLOAD_VIDEO,
    C::DOWNLOAD_AUDIO,
    C::DOWNLOAD_ATTACHMENT,
    C::SEND_LINK,
    C::SEND_LINK_PREVIEW,
    C::FOLLOW_LINK,
    C::COPY_LINK,
];

fn open_roles() -> Vec<Role> {
    let member = with(
        &[
            C::ADD_PARTICIPANT,
            C::ADD_OWN_CLIENT,
            C::REMOVE_OWN_CLIENT,
            C::REMOVE_SELF,
        ],
        MESSAGING,
    );
    let moderator = with(
        &member,
        &[
            C::REMOVE_PARTICIPANT,
            C::KICK,
            C::BAN,
            C::UNBAN,
            C::CHANGE_USER_ROLE,
            C::DELETE_OTHER_MESSAGE,
            C::DELETE_OTHER_REACTION,
            C::EDIT_OTHER_TOPIC,
            C::CHANGE_ROOM_NAME,
            C::CHANGE_ROOM_AVATAR,
            C::CHANGE_ROOM_SUBJECT,
            C::CHANGE_ROOM_MOOD,
        ],
    );
    let owner = with(
        &moderator,
        &[
            C::CHANGE_ROOM_DESCRIPTION,
            C::CHANGE_ROOM_MEMBERSHIP_STYLE,
            C::CHANGE_ROLE_DEFINITIONS,
            C::CHANGE_PREAUTHORIZED_USER_LIST,
            C::DESTROY_ROOM,
            C::SEND_MLS_REINIT_PROPOSAL,
        ],
    );
    vec![
        no_role(vec![C::OPEN_JOIN], NO_CLIENTS, &[(0, &[2])]),
        banned(),
        role(
            2,
            "member",
            "joins on its own; may invite others",
            member,
            FREE,
            &[(0, &[2]), (2, &[0])],
        ),
        role(
            3,
            "moderator",
            "removes, kicks, bans and unbans members",
            moderator,
            FREE,
            &[(0, &[1, 2]), (1, &[0, 2]), (2, &[0, 1]), (3, &[0])],
        ),
        role(
            4,
            "owner",
            "administers the room; at least one",
            owner,
            (1, None, 0, None),
            &[
                (0, &[1, 2, 3, 4]),
                (1, &[0, 2, 3, 4]),
                (2, &[0, 1, 3, 4]),
                (3, &[0, 1, 2, 4]),
                (4, &[0, 1, 2, 3]),
            ],
        ),
    ]
}

fn dm_roles() -> Vec<Role> {
    let member = with(
        &[C::ADD_OWN_CLIENT, C::REMOVE_OWN_CLIENT],
        &with(
            MESSAGING,
            &[
                C::CHANGE_ROOM_NAME,
                C::CHANGE_ROOM_DESCRIPTION,
                C::CHANGE_ROOM_AVATAR,
                C::CHANGE_ROOM_SUBJECT,
                C::CHANGE_ROOM_MOOD,
            ],
        ),
    );
    vec![
        no_role(Vec::new(), NO_CLIENTS, &[]),
        banned(),
        role(
            2,
            "member",
            "a participant of the direct message",
            member,
            FREE,
            &[],
        ),
    ]
}
