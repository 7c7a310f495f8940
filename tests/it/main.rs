//! Folio's integration tests, linked as one binary: each module is one capability, and they
//! share `common` (an app on a per-test database, requests, posts) and `crate::common::browser`.

mod common;

mod admin;
mod architecture;
mod browser;
mod cdn;
mod comment_pages;
mod comments;
mod demo;
mod discovery;
mod editor;
mod encoding;
mod fedify;
mod fediverse;
mod gates;
mod https;
mod import;
mod mail;
mod operations;
mod own_postgres;
mod reading;
mod replicas;
mod server;
mod sign_in;
mod spam;
mod theme;
mod webmention;
