//! Content hashing: the SHA-1 of a file's bytes, streamed with a fixed buffer so a 4 GiB video
//! never sits in memory. SHA-1 is what Immich dedups on, so it is what we send and compare.

use sha1::{Digest, Sha1};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Size of the read buffer: large enough that syscalls are not the bottleneck.
const BUF_SIZE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// SHA-1 of everything `reader` yields, and the number of bytes read.
pub fn sha1_reader<R: Read>(mut reader: R) -> io::Result<([u8; 20], u64)> {
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; BUF_SIZE];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// SHA-1 of a file, as 20 raw bytes, and its length.
pub fn sha1_file(path: &Path) -> Result<([u8; 20], u64), HashError> {
    let wrap = |source| HashError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(wrap)?;
    sha1_reader(file).map_err(wrap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn hashes_match_known_vectors() {
        // The tus checksum extension's own example: "hello world".
        let (digest, n) = sha1_reader(&b"hello world"[..]).unwrap();
        assert_eq!(
            hex::encode(digest),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(n, 11);
    }

    #[test]
    fn file_larger_than_buffer_hashes_like_one_shot() {
        let data: Vec<u8> = (0..(3 * BUF_SIZE + 17))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let (digest, n) = sha1_file(f.path()).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(digest.to_vec(), Sha1::digest(&data).to_vec());
    }

    #[test]
    fn missing_file_is_a_typed_error_naming_the_path() {
        let err = sha1_file(Path::new("/nonexistent/shoebox/x.jpg")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/shoebox/x.jpg"));
    }
}
