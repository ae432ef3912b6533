//! Typed integer ids: a `ContactId` can never be passed where a `CompanyId` is due.

use serde::{Deserialize, Serialize};

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_types!(
    TicketId,
    CompanyId,
    LocationId,
    ContactId,
    ResourceId,
    RoleId,
    QueueId,
    ContractId,
    StatusId,
    PriorityId,
    TicketTypeId,
    IssueTypeId,
    NoteId,
    TimeEntryId,
    SlaPolicyId,
    CalendarId,
    TicketCategoryId,
    AttachmentId,
);
