#![cfg(unix)]
//! File mappings against temporary files: modes, unaligned offsets, empty files, ranges at the
//! end, and the exact errno of each failure.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap_core::{page_size, Error, Handle, Kind, Map, Mode, OpenOptions};

mod common;
use common::errno;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn file_with(dir: &tempfile::TempDir, contents: &[u8]) -> PathBuf {
    let path = dir.path().join("data.bin");
    fs::File::create(&path)
        .unwrap()
        .write_all(contents)
        .unwrap();
    path
}

fn open(path: &Path, options: OpenOptions) -> Map {
    Map::open(path, &options).unwrap()
}

fn bytes(map: &Map) -> Vec<u8> {
    let mut out = vec![0; map.len()];
    assert_eq!(map.read(0, &mut out), map.len());
    out
}

#[test]
fn read_only_maps_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(3 * page_size() + 17);
    let path = file_with(&dir, &data);
    let map = open(&path, OpenOptions::default());
    assert_eq!(map.kind(), Kind::File);
    assert_eq!(map.mode(), Mode::Read);
    assert_eq!(map.path(), Some(path.to_str().unwrap()));
    assert_eq!(bytes(&map), data);
}

#[test]
fn unaligned_offsets_and_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(5 * page_size());
    let path = file_with(&dir, &data);
    for offset in [1, 4095, 4096, 4097, 3 * page_size() + 5] {
        for length in [1, 2, 100, page_size() + 3] {
            let options = OpenOptions {
                offset: offset as u64,
                length: Some(length as u64),
                ..Default::default()
            };
            let map = open(&path, options);
            assert_eq!(map.offset(), offset as u64);
            assert_eq!(
                bytes(&map),
                &data[offset..offset + length],
                "offset {offset} length {length}"
            );
        }
    }
}

#[test]
fn empty_file_zero_length_and_offset_at_end_map_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = file_with(&dir, b"");
    assert!(open(&empty, OpenOptions::default()).is_empty());
    let other = dir.path().join("ten.bin");
    fs::write(&other, b"0123456789").unwrap();
    let zero = open(
        &other,
        OpenOptions {
            length: Some(0),
            ..Default::default()
        },
    );
    assert!(zero.is_empty());
    let at_end = open(
        &other,
        OpenOptions {
            offset: 10,
            ..Default::default()
        },
    );
    assert!(at_end.is_empty());
    assert_eq!(at_end.read(0, &mut [0; 4]), 0);
}

#[test]
fn ranges_past_the_end_are_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"0123456789");
    let past = |offset, length| {
        Map::open(
            &path,
            &OpenOptions {
                offset,
                length,
                ..Default::default()
            },
        )
        .unwrap_err()
    };
    assert!(matches!(past(11, None), Error::OutOfRange(_)));
    assert!(matches!(past(5, Some(6)), Error::OutOfRange(_)));
    assert!(matches!(past(u64::MAX, Some(1)), Error::OutOfRange(_)));
    assert_eq!(past(10, Some(1)).code(), "ERR_MMAP_OUT_OF_RANGE");
    // The last byte exactly is fine.
    let last = open(
        &path,
        OpenOptions {
            offset: 9,
            length: Some(1),
            ..Default::default()
        },
    );
    assert_eq!(bytes(&last), b"9");
}

#[test]
fn missing_file_is_enoent_with_path_and_syscall() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing");
    let error = Map::open(&path, &OpenOptions::default()).unwrap_err();
    assert_eq!(errno(&error), libc::ENOENT);
    assert_eq!(error.code(), "ENOENT");
    assert_eq!(error.errno(), Some(-libc::ENOENT));
    assert_eq!(error.syscall(), Some("open"));
    assert_eq!(error.path(), path.to_str());
    assert_eq!(
        error.to_string(),
        format!(
            "ENOENT: no such file or directory, open '{}'",
            path.display()
        )
    );
}

#[test]
fn directory_is_eisdir_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Read, Mode::ReadWrite, Mode::Create] {
        let options = OpenOptions {
            mode,
            size: Some(1),
            ..Default::default()
        };
        let error = Map::open(dir.path(), &options).unwrap_err();
        assert_eq!(errno(&error), libc::EISDIR, "{mode:?}");
        assert_eq!(error.syscall(), Some("open"));
    }
}

#[test]
#[cfg_attr(
    target_os = "linux",
    ignore = "root may open any file for writing: run with --ignored as another user"
)]
fn read_write_on_read_only_file_is_eacces() {
    assert!(
        !unsafe_is_root(),
        "run as a user other than root: root may open any file for writing"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"abc");
    let mut permissions = fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&path, permissions).unwrap();
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        ..Default::default()
    };
    assert_eq!(
        errno(&Map::open(&path, &options).unwrap_err()),
        libc::EACCES
    );
}

fn unsafe_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn private_writes_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"original");
    let map = open(&path, OpenOptions::default());
    // An explicit write is refused...
    assert!(matches!(map.write(0, b"X"), Err(Error::ReadOnly)));
    // ...and a stray one through the pointer (as a JavaScript Buffer write would be) stays private.
    // SAFETY: the mapping is 8 bytes long and its private pages are writable.
    unsafe { map.as_ptr().as_ptr().write(b'X') };
    assert_eq!(bytes(&map), b"Xriginal");
    drop(map);
    assert_eq!(fs::read(&path).unwrap(), b"original");
}

#[test]
fn shared_writes_reach_the_file_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, &pattern(2 * page_size()));
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        offset: 100,
        ..Default::default()
    };
    let map = open(&path, options);
    map.write(4000, b"hello").unwrap();
    map.flush(3990, 4010).unwrap();
    assert_eq!(&fs::read(&path).unwrap()[4100..4105], b"hello");
    // All or nothing: a write that does not fit copies nothing.
    let len = map.len() as u64;
    assert!(matches!(
        map.write(len - 2, b"abc"),
        Err(Error::OutOfRange(_))
    ));
    assert_eq!(
        &bytes(&map)[map.len() - 2..],
        &pattern(2 * page_size())[2 * page_size() - 2..]
    );
    assert!(matches!(
        map.flush(0, map.len() + 1),
        Err(Error::OutOfRange(_))
    ));
}

#[test]
fn create_truncates_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"old contents that must go");
    let options = OpenOptions {
        mode: Mode::Create,
        size: Some(10_000),
        ..Default::default()
    };
    let map = open(&path, options);
    assert_eq!(map.len(), 10_000);
    assert!(bytes(&map).iter().all(|&b| b == 0));
    assert_eq!(fs::metadata(&path).unwrap().len(), 10_000);
}

#[test]
fn create_without_size_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"keep me");
    let options = OpenOptions {
        mode: Mode::Create,
        ..Default::default()
    };
    let error = Map::open(&path, &options).unwrap_err();
    assert_eq!(error.code(), "ERR_INVALID_ARG_VALUE");
    assert_eq!(fs::read(&path).unwrap(), b"keep me");
}

#[test]
fn read_write_with_size_grows_but_never_shrinks() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"0123456789");
    let grow = OpenOptions {
        mode: Mode::ReadWrite,
        size: Some(100),
        ..Default::default()
    };
    assert_eq!(open(&path, grow).len(), 100);
    let smaller = OpenOptions {
        mode: Mode::ReadWrite,
        size: Some(5),
        ..Default::default()
    };
    assert_eq!(open(&path, smaller).len(), 100);
    assert_eq!(fs::metadata(&path).unwrap().len(), 100);
}

#[test]
fn populate_and_huge_pages_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(64 * 1024);
    let path = file_with(&dir, &data);
    let options = OpenOptions {
        populate: true,
        huge_pages: true,
        ..Default::default()
    };
    assert_eq!(bytes(&open(&path, options)), data);
}

#[test]
fn sparse_file_larger_than_ram_maps_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.bin");
    let file = fs::File::create(&path).unwrap();
    let size = 64u64 << 30;
    file.set_len(size).unwrap();
    let map = open(&path, OpenOptions::default());
    assert_eq!(map.len() as u64, size);
    let mut tail = [1u8; 8];
    assert_eq!(map.read(size - 8, &mut tail), 8);
    assert_eq!(tail, [0; 8]);
}

#[test]
fn handle_close_is_idempotent_and_later_calls_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, b"abc");
    let handle = Handle::new(open(&path, OpenOptions::default()));
    let clone = handle.clone();
    assert_eq!(handle.with(|map| Ok(map.len())).unwrap(), 3);
    assert!(handle.close());
    assert!(!clone.close());
    assert!(clone.is_closed());
    assert!(matches!(
        clone.with(|map| Ok(map.len())),
        Err(Error::Closed)
    ));
}

/// What every failed open must leave: the same bytes, at the same length.
fn assert_untouched(path: &std::path::Path, contents: &[u8]) {
    assert_eq!(fs::read(path).unwrap(), contents);
}

#[test]
fn create_with_a_range_past_its_size_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let contents = pattern(64 * 1024);
    let path = file_with(&dir, &contents);
    for (offset, length) in [(100, None), (0, Some(11)), (4, Some(7))] {
        let options = OpenOptions {
            mode: Mode::Create,
            size: Some(10),
            offset,
            length,
            ..Default::default()
        };
        let error = Map::open(&path, &options).unwrap_err();
        assert_eq!(error.code(), "ERR_MMAP_OUT_OF_RANGE", "{offset} {length:?}");
        assert_untouched(&path, &contents);
    }
}

#[test]
fn create_with_a_size_the_file_system_refuses_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let contents = pattern(5000);
    let path = file_with(&dir, &contents);
    let options = OpenOptions {
        mode: Mode::Create,
        size: Some((1 << 53) - 1),
        ..Default::default()
    };
    // EFBIG from ftruncate on most file systems; tmpfs takes the length, and then mmap refuses
    // to map 8 PiB. Either way the file is as it was.
    let error = Map::open(&path, &options).unwrap_err();
    assert!(
        matches!(error.syscall(), Some("ftruncate" | "mmap")),
        "{error}"
    );
    assert_untouched(&path, &contents);
}

#[test]
fn a_failed_create_of_a_new_file_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.bin");
    for size in [(1 << 53) - 1, 10] {
        let options = OpenOptions {
            mode: Mode::Create,
            size: Some(size),
            offset: 100,
            ..Default::default()
        };
        assert!(Map::open(&path, &options).is_err());
        assert!(!path.exists(), "size {size}");
    }
}

#[test]
fn read_write_growth_refused_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let contents = pattern(3000);
    let path = file_with(&dir, &contents);
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        size: Some((1 << 53) - 1),
        ..Default::default()
    };
    assert!(matches!(
        Map::open(&path, &options).unwrap_err().syscall(),
        Some("ftruncate" | "mmap")
    ));
    let past = OpenOptions {
        mode: Mode::ReadWrite,
        size: Some(4000),
        offset: 4001,
        ..Default::default()
    };
    assert_eq!(
        Map::open(&path, &past).unwrap_err().code(),
        "ERR_MMAP_OUT_OF_RANGE"
    );
    assert_untouched(&path, &contents);
}

/// What a caller hands over: its own read-write descriptor, duplicated, then closed (the
/// mapping must not need the caller's).
fn duplicate_read_write(path: &Path) -> fs::File {
    use std::os::fd::AsRawFd;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    memmap_core::duplicate_descriptor(file.as_raw_fd()).unwrap()
}

#[test]
fn maps_a_callers_descriptor_and_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, &pattern(10_000));
    let copy = duplicate_read_write(&path);
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        offset: 3,
        ..OpenOptions::default()
    };
    let map = Map::open_descriptor(copy, &options).unwrap();
    assert_eq!(
        (map.path(), map.len(), map.kind()),
        (None, 9_997, Kind::File)
    );
    map.write(0, b"XYZ").unwrap();
    map.flush(0, 3).unwrap();
    assert_eq!(&fs::read(&path).unwrap()[3..6], b"XYZ");
}

#[test]
fn a_descriptor_not_open_for_the_mode_is_eacces_and_a_closed_one_ebadf() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, &pattern(100));
    let read_only = fs::File::open(&path).unwrap();
    let copy = memmap_core::duplicate_descriptor(read_only.as_raw_fd()).unwrap();
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        ..OpenOptions::default()
    };
    let error = Map::open_descriptor(copy, &options).unwrap_err();
    assert_eq!(
        (error.code(), error.syscall(), error.path()),
        ("EACCES", Some("mmap"), None)
    );
    assert_eq!(error.errno(), Some(-libc::EACCES));
    let error = memmap_core::duplicate_descriptor(read_only.as_raw_fd() + 1000).unwrap_err();
    assert_eq!((error.code(), error.syscall()), ("EBADF", Some("dup")));
    assert_eq!(
        memmap_core::duplicate_descriptor(-1).unwrap_err().code(),
        "EBADF"
    );
}

#[test]
fn w_plus_over_a_descriptor_empties_the_file_to_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(&dir, &pattern(5000));
    let copy = duplicate_read_write(&path);
    let options = OpenOptions {
        mode: Mode::Create,
        size: Some(100),
        ..OpenOptions::default()
    };
    let map = Map::open_descriptor(copy, &options).unwrap();
    assert_eq!(bytes(&map), vec![0; 100]);
    assert_eq!(fs::metadata(&path).unwrap().len(), 100);
}

#[test]
fn a_pipe_or_a_directory_is_enodev_before_anything_is_mapped() {
    use std::os::fd::AsRawFd;
    let (reader, _writer) = std::io::pipe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let directory = fs::File::open(dir.path()).unwrap();
    for fd in [reader.as_raw_fd(), directory.as_raw_fd()] {
        let copy = memmap_core::duplicate_descriptor(fd).unwrap();
        let error = Map::open_descriptor(copy, &OpenOptions::default()).unwrap_err();
        assert_eq!((error.code(), error.syscall()), ("ENODEV", Some("mmap")));
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
}
