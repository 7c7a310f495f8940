//! Validated values shared by the HTTP layer, the database layer and the CLI.

pub mod clock;
pub mod comment;
pub mod device;
pub mod image;
pub mod import;
pub mod post;
pub mod role;
pub mod slug;
pub mod spam;
pub mod text;
pub mod theme;
pub mod zones;
