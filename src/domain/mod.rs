//! Validated values shared by the HTTP layer, the database layer and the CLI.

pub mod clock;
pub mod comment;
pub mod device;
pub mod image;
pub mod import;
pub mod mail;
pub mod post;
pub mod role;
pub mod slug;
pub mod spam;
pub mod text;
pub mod theme;
pub mod zones;

/// A form's messages, at most one per field. Each such struct derives `Default` and `PartialEq`,
/// so "nothing wrong" is one comparison that no field can be left out of (a field forgotten in a
/// hand-written check let invalid input be saved).
pub trait FormErrors: Default + PartialEq {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
