//! File digests for the run manifest (meta.json `dataset`, docs/data.md).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{EngineError, ErrorCode, Result};

/// One input file as recorded in meta.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDigest {
    /// The path as resolved (data root joined with the layout).
    pub path: String,
    /// File name, e.g. `EURUSD_M5_BID.parquet`.
    pub name: String,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// Streams `path` through SHA-256 with a fixed 64 KiB buffer.
pub fn sha256_file(path: &Path) -> Result<String> {
    Ok(hash_file(path)?.1)
}

/// Size and SHA-256 of one file.
pub fn file_digest(path: &Path) -> Result<FileDigest> {
    let (bytes, sha256) = hash_file(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(FileDigest { path: path.display().to_string(), name, bytes, sha256 })
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let io = |e: std::io::Error| {
        EngineError::new(ErrorCode::DataIo, format!("cannot read {} to hash it: {e}", path.display())).with_file(path)
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok((bytes, hex(&hasher.finalize())))
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 over the entries sorted by name (then hash), one `"{name}  {sha256}\n"` line each
/// (name, two spaces, lowercase hex, newline), UTF-8.
pub fn manifest_sha256(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for (name, sha) in sorted {
        hasher.update(name.as_bytes());
        hasher.update(b"  ");
        hasher.update(sha.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&data));
        assert_eq!(file_digest(&path).unwrap().bytes, 200_000);
    }

    #[test]
    fn manifest_is_order_independent_and_matches_its_documented_form() {
        let a = ("b.csv".to_string(), "22".to_string());
        let b = ("a.csv".to_string(), "11".to_string());
        let m = manifest_sha256(&[a.clone(), b.clone()]);
        assert_eq!(m, manifest_sha256(&[b, a]));
        assert_eq!(m, sha256_hex(b"a.csv  11\nb.csv  22\n"));
    }
}
