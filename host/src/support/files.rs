//! Reading a file named by untrusted input without being stalled or flooded by it: only a
//! regular file is read (a FIFO would block the reader until someone writes to it; a
//! device may never end), and never more than a cap.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A total that several readers (in parallel) take their bytes from, such as everything one
/// catalog reconcile reads.
pub struct SharedBudget {
    limit: u64,
    spent: AtomicU64,
}

impl SharedBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            spent: AtomicU64::new(0),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes `bytes` if they fit what is left; the first taker always gets them, so work
    /// larger than the whole budget still goes ahead alone.
    pub fn take(&self, bytes: u64) -> Taken {
        match self
            .spent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |spent| {
                (spent == 0 || spent.saturating_add(bytes) <= self.limit)
                    .then(|| spent.saturating_add(bytes))
            }) {
            Ok(0) => Taken::First,
            Ok(_) => Taken::Yes,
            Err(_) => Taken::No,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Nothing was taken before.
    First,
    Yes,
    /// They did not fit; nothing was taken.
    No,
}

/// The bytes of the regular file at `path`, when it holds at most `limit` of them; the error
/// says why not, for people.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    // Non-blocking, so opening a FIFO returns at once instead of waiting for a writer;
    // regular files ignore the flag. The type is checked on the opened file, not the path.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let metadata = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !metadata.is_file() {
        return Err(format!("is not a regular file ({})", kind(&metadata)));
    }
    if metadata.len() > limit {
        return Err(too_large(metadata.len(), limit));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow while it is read.
    file.by_ref()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

fn too_large(size: u64, limit: u64) -> String {
    format!(
        "is {:.1} MiB; the limit is {} MiB",
        size as f64 / (1 << 20) as f64,
        limit >> 20
    )
}

fn kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a file"
    }
}

/// The 1-based line of byte `offset` in `bytes`.
pub fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &bytes[..offset.min(bytes.len())]).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_folders_and_large_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string for a path in a folder of our own.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read_bounded(&fifo, 100).unwrap_err(),
            "is not a regular file (a FIFO)"
        );
        assert_eq!(
            read_bounded(dir.path(), 100).unwrap_err(),
            "is not a regular file (a folder)"
        );
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(3 << 20)
            .unwrap();
        assert_eq!(
            read_bounded(&big, 2 << 20).unwrap_err(),
            "is 3.0 MiB; the limit is 2 MiB"
        );
        std::fs::write(&big, "a\nb\nc").unwrap();
        assert_eq!(read_bounded(&big, 2 << 20).unwrap(), b"a\nb\nc");
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
