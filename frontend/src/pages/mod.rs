//! One module per page.

pub mod catalog;
pub mod entity;
pub mod plugins;
