//! Android has no named shared memory: bionic leaves out `shm_open`/`shm_unlink` on purpose, and
//! Android's own mechanism (`ASharedMemory`, ashmem, `memfd`) is anonymous, shared by handing
//! the descriptor to another process over Binder or a Unix socket, so no name could reach it.
//! Rather than invent a namespace that no other Android program would find (files under some
//! directory), these calls say so and point to what works: a file mapping, which is shared
//! between every process that maps the same file with mode `'r+'`.

use crate::error::{Error, Result};
use crate::map::Map;

fn unsupported() -> Error {
    Error::Unsupported(
        "Android has no named shared memory (its C library has no shm_open). To share memory \
         between processes, map one file in each of them instead: \
         openSync(path, { mode: 'r+' }) on a file in a directory they can all reach"
            .to_owned(),
    )
}

/// See [`Map::create_shared`]: always `ERR_MMAP_UNSUPPORTED` on Android.
pub fn create(_name: &str, _length: usize, _exclusive: bool) -> Result<Map> {
    Err(unsupported())
}

/// See [`Map::open_shared`]: always `ERR_MMAP_UNSUPPORTED` on Android.
pub fn open(_name: &str, _read_only: bool) -> Result<Map> {
    Err(unsupported())
}

/// See [`crate::unlink_shared`]: always `ERR_MMAP_UNSUPPORTED` on Android.
pub fn unlink(_name: &str) -> Result<bool> {
    Err(unsupported())
}
