//! `shoebox`: the desktop backup CLI. The backup engine issue gives it `login`, `backup`, `watch`
//! and `timeline`; today it can hash files the way the backup engine will.

use anyhow::{Context, Result, bail};
use std::path::Path;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("hash") if args.len() > 1 => {
            for path in &args[1..] {
                let (digest, _) = shoebox_core::sha1_file(Path::new(path))
                    .with_context(|| format!("hashing {path}"))?;
                println!("{}  {path}", hex_lower(&digest));
            }
            Ok(())
        }
        _ => bail!("usage: shoebox hash FILE...   (backup commands arrive with the backup engine)"),
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
