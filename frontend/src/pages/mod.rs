//! One module per page.

pub mod catalog;
pub mod create;
pub mod docs;
pub mod entity;
pub mod home;
pub mod permissions;
pub mod plugin_page;
pub mod plugins;
pub mod search;
