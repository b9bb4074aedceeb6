//! A scratch directory that exists only for the duration of one benchmark.

use std::path::{Path, PathBuf};

use crate::Result;

/// Creates `dir` empty (removing what a killed earlier run left there) and removes it again
/// when dropped, also when the benchmark fails.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Creates (or empties) `dir`.
    pub fn create(dir: &Path) -> Result<Scratch> {
        remove(dir)?;
        std::fs::create_dir_all(dir)?;
        Ok(Scratch {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `dir/name`, removed first if it exists.
    pub fn fresh(&self, name: &str) -> Result<PathBuf> {
        let p = self.dir.join(name);
        remove(&p)?;
        Ok(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = remove(&self.dir);
    }
}

/// Removes a file or directory tree if it exists.
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Ok(_) => std::fs::remove_file(path)?,
        Err(_) => {}
    }
    Ok(())
}

/// Total size of the files directly under `paths` (files) in bytes.
pub fn total_size(paths: &[PathBuf]) -> Result<u64> {
    let mut n = 0;
    for p in paths {
        n += std::fs::metadata(p)?.len();
    }
    Ok(n)
}

/// Total size of every file below `dir`, recursively.
pub fn tree_size(dir: &Path) -> Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let m = e.metadata()?;
        n += if m.is_dir() {
            tree_size(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(n)
}
