//! Server-rendered HTML pages (no framework): the public share page.

pub mod share_page;
