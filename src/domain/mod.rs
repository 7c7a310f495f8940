//! Validated values shared by the HTTP layer, the database layer and the CLI.

pub mod comment;
pub mod device;
pub mod image;
pub mod import;
pub mod post;
pub mod role;
pub mod slug;
pub mod text;
pub mod theme;
