//! Database identifiers as newtypes, so that a unit id can never be passed where a user id belongs.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A person's account.
    UserId
);
id_type!(
    /// An agency (a department such as Sở GTVT) or a venue owner.
    AgencyId
);
id_type!(
    /// A space: checkpoints of one agency that tracing counts as one place (the gate and the
    /// reception of one building).
    SpaceId
);
id_type!(
    /// A tracing case (F0): a person and the infectious window traced.
    CaseId
);
id_type!(
    /// A unit (division) inside an agency.
    UnitId
);
id_type!(
    /// A checkpoint: a place where people check in.
    CheckpointId
);
id_type!(
    /// A sign-in session (cookie or bearer token).
    SessionId
);
id_type!(
    /// An entry of a unit's staff roster.
    RosterEntryId
);
id_type!(
    /// An entry of the audit log.
    AuditId
);
