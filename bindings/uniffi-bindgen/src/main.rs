//! `uniffi-bindgen generate <lib> --language kotlin|swift ...`, the same uniffi version as the
//! library (pinned with `=` in the workspace), so generated code and scaffolding always agree.
fn main() {
    uniffi::uniffi_bindgen_main()
}
