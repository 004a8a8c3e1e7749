//! `uniffi-bindgen-swift <lib> <out> --headers --modulemap ...`: the Swift-specific generator
//! used to lay out headers and the modulemap for an XCFramework.
fn main() {
    uniffi::uniffi_bindgen_swift()
}
