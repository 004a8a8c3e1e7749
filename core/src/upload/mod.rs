//! Moving bytes: the tus 1.0 client, adaptive chunk sizing, and request bodies streamed from
//! the photo library.

pub mod chunk;
pub mod source;
pub mod tus;
