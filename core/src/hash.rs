//! Content hashing: the SHA-1 of a file's bytes, streamed with a fixed buffer so a 4 GiB video
//! never sits in memory. SHA-1 is what Immich dedups on, so it is what we send and compare.
//! `Sha1State` is a SHA-1 whose progress can be saved and restored, so hashing a big video
//! survives the end of a background window (or a killed app) and goes on where it stopped.

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

/// The SHA-1 initial state (FIPS 180-4, 5.3.1).
const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];
type Block = sha1::digest::generic_array::GenericArray<u8, sha1::digest::consts::U64>;

/// A SHA-1 computation that can be checkpointed: the five state words and the byte count are
/// all there is to it between whole 64-byte blocks.
#[derive(Debug, Clone)]
pub struct Sha1State {
    h: [u32; 5],
    /// Bytes fed so far.
    len: u64,
    /// A partial block (fewer than 64 bytes) not yet compressed.
    tail: Vec<u8>,
}

impl Default for Sha1State {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1State {
    pub fn new() -> Self {
        Self {
            h: SHA1_INIT,
            len: 0,
            tail: Vec::with_capacity(64),
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.tail.is_empty() {
            let take = (64 - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < 64 {
                return;
            }
            let block = Block::clone_from_slice(&self.tail);
            sha1::compress(&mut self.h, std::slice::from_ref(&block));
            self.tail.clear();
        }
        let whole = data.len() / 64 * 64;
        // Each block by reference (no copy): debug builds of this crate stay fast too.
        for block in data[..whole].chunks_exact(64) {
            sha1::compress(&mut self.h, std::slice::from_ref(Block::from_slice(block)));
        }
        self.tail.extend_from_slice(&data[whole..]);
    }

    pub fn finalize(mut self) -> [u8; 20] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = vec![0x80u8];
        let used = (self.tail.len() + 1) % 64;
        let zeros = if used <= 56 { 56 - used } else { 120 - used };
        pad.resize(1 + zeros, 0);
        pad.extend_from_slice(&bits.to_be_bytes());
        let len = self.len;
        self.update(&pad);
        self.len = len;
        let mut out = [0u8; 20];
        for (i, w) in self.h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// The state as 28 bytes (five words, then the length), or `None` in the middle of a
    /// block: save it after feeding a multiple of 64 bytes.
    pub fn checkpoint(&self) -> Option<Vec<u8>> {
        if !self.tail.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(28);
        for w in self.h {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(&self.len.to_be_bytes());
        Some(out)
    }

    /// A state saved by `checkpoint`; `None` when the bytes are not one.
    pub fn restore(saved: &[u8]) -> Option<Self> {
        if saved.len() != 28 {
            return None;
        }
        let mut h = [0u32; 5];
        for (i, w) in h.iter_mut().enumerate() {
            *w = u32::from_be_bytes(saved[i * 4..i * 4 + 4].try_into().ok()?);
        }
        let len = u64::from_be_bytes(saved[20..28].try_into().ok()?);
        if len % 64 != 0 {
            return None;
        }
        Some(Self {
            h,
            len,
            tail: Vec::with_capacity(64),
        })
    }
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
    fn resumable_state_matches_sha1_at_every_length_and_across_a_checkpoint() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
        for len in [
            0usize, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 65_536, 299_999,
        ] {
            let mut s = Sha1State::new();
            // Odd piece sizes exercise the partial-block path.
            for piece in data[..len].chunks(37) {
                s.update(piece);
            }
            assert_eq!(
                s.finalize().to_vec(),
                Sha1::digest(&data[..len]).to_vec(),
                "{len}"
            );
        }
        let mut s = Sha1State::new();
        s.update(&data[..64 * 1000]);
        let saved = s.checkpoint().expect("whole blocks");
        let mut resumed = Sha1State::restore(&saved).expect("restore");
        assert_eq!(resumed.len(), 64_000);
        resumed.update(&data[64 * 1000..]);
        assert_eq!(resumed.finalize().to_vec(), Sha1::digest(&data).to_vec());
        let mut partial = Sha1State::new();
        partial.update(&data[..10]);
        assert!(
            partial.checkpoint().is_none(),
            "not in the middle of a block"
        );
        assert!(Sha1State::restore(&[0u8; 27]).is_none());
    }

    #[test]
    fn missing_file_is_a_typed_error_naming_the_path() {
        let err = sha1_file(Path::new("/nonexistent/shoebox/x.jpg")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/shoebox/x.jpg"));
    }
}
