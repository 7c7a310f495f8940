//! Turning stored text into what readers see: Markdown to safe HTML, and dates in the blog's zone.

pub mod assets;
pub mod comment;
pub mod dates;
pub mod images;
pub mod markdown;
pub mod post;
pub mod sanitize;
pub mod theme;
