#![cfg(target_os = "linux")]
//! Memory control, resize and anonymous mappings against temporary (mostly sparse) files:
//! residency measured with mincore, what the kernel recorded read back from /proc/self/smaps,
//! and the exact errno of each failure.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use memmap_core::{
    page_size, Advice, AnonymousOptions, Error, Kind, Map, Mode, OpenOptions, Residency,
};

mod common;
use common::errno;

/// A sparse file of `len` bytes: no page of it is in the page cache until something reads it.
fn sparse(dir: &tempfile::TempDir, name: &str, len: u64) -> PathBuf {
    let path = dir.path().join(name);
    fs::File::create(&path).unwrap().set_len(len).unwrap();
    path
}

fn open(path: &Path, mode: Mode, populate: bool) -> Map {
    let options = OpenOptions {
        mode,
        populate,
        ..Default::default()
    };
    Map::open(path, &options).unwrap()
}

fn residency(map: &Map, start: usize, end: usize) -> Residency {
    map.residency(start, end).unwrap()
}

fn touch(map: &Map, at: usize) -> u8 {
    let mut byte = [0];
    assert_eq!(map.read(at as u64, &mut byte), 1);
    byte[0]
}

/// The /proc/self/smaps block of the kernel region holding `addr`.
fn smaps_of(addr: usize) -> String {
    let smaps = fs::read_to_string("/proc/self/smaps").unwrap();
    let mut block = String::new();
    let mut inside = false;
    for line in smaps.lines() {
        // A region's header line starts with its address range, "from-to" in hex.
        let first = line.split_whitespace().next().unwrap_or_default();
        let range = first.split_once('-').and_then(|(from, to)| {
            Some((
                usize::from_str_radix(from, 16).ok()?,
                usize::from_str_radix(to, 16).ok()?,
            ))
        });
        if let Some((from, to)) = range {
            if inside {
                break;
            }
            inside = (from..to).contains(&addr);
        }
        if inside {
            block.push_str(line);
            block.push('\n');
        }
    }
    assert!(!block.is_empty(), "no region holds {addr:#x}");
    block
}

/// A `kB` field of an smaps block.
fn smaps_kb(block: &str, field: &str) -> usize {
    block
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {block}"))
}

fn vm_flags(block: &str) -> Vec<String> {
    block
        .lines()
        .find_map(|line| line.strip_prefix("VmFlags:"))
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn advice_names_round_trip() {
    for advice in Advice::ALL {
        assert_eq!(Advice::parse(advice.as_str()), Some(advice));
    }
    assert_eq!(Advice::parse("WILLNEED"), None);
    assert_eq!(Advice::parse(""), None);
}

#[test]
fn every_advice_is_taken_on_linux_and_recorded_by_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "advice.bin", 64 * page_size() as u64);
    let map = open(&path, Mode::ReadWrite, false);
    for advice in Advice::ALL {
        assert!(map.advise(advice, 0, map.len()).unwrap(), "{advice:?}");
        // An empty range acts on nothing and says whether the OS has the advice.
        assert!(map.advise(advice, 5, 5).unwrap(), "{advice:?}");
    }
    let addr = map.as_ptr().as_ptr() as usize;
    map.advise(Advice::Random, 0, map.len()).unwrap();
    assert!(vm_flags(&smaps_of(addr)).contains(&"rr".to_owned()));
    map.advise(Advice::Sequential, 0, map.len()).unwrap();
    assert!(vm_flags(&smaps_of(addr)).contains(&"sr".to_owned()));
    if thp_offered() {
        map.advise(Advice::HugePage, 0, map.len()).unwrap();
        assert!(vm_flags(&smaps_of(addr)).contains(&"hg".to_owned()));
        map.advise(Advice::NoHugePage, 0, map.len()).unwrap();
        assert!(vm_flags(&smaps_of(addr)).contains(&"nh".to_owned()));
    }
    assert!(matches!(
        map.advise(Advice::Normal, 0, map.len() + 1),
        Err(Error::OutOfRange(_))
    ));
}

#[test]
fn residency_counts_only_touched_pages_of_a_sparse_file() {
    let page = page_size();
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "sparse.bin", 256 * page as u64);
    let map = open(&path, Mode::Read, false);
    map.advise(Advice::Random, 0, map.len()).unwrap();
    assert_eq!(
        residency(&map, 0, map.len()),
        Residency {
            pages: 256,
            resident: 0
        }
    );
    touch(&map, 100 * page + 7);
    assert_eq!(
        residency(&map, 100 * page, 101 * page),
        Residency {
            pages: 1,
            resident: 1
        }
    );
    // A byte range is rounded outward to the pages it overlaps.
    assert_eq!(residency(&map, 100 * page + 10, 100 * page + 11).pages, 1);
    assert_eq!(residency(&map, 100 * page - 1, 100 * page + 1).pages, 2);
    assert_eq!(
        residency(&map, 200 * page, 201 * page),
        Residency {
            pages: 1,
            resident: 0
        }
    );
    assert_eq!(residency(&map, 7, 7), Residency::default());
    let whole = residency(&map, 0, map.len());
    assert!(
        (1..=16).contains(&whole.resident),
        "touching one page made {} resident",
        whole.resident
    );
}

#[test]
fn unaligned_offset_rounds_to_the_pages_really_mapped() {
    let page = page_size();
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "unaligned.bin", 8 * page as u64);
    let options = OpenOptions {
        offset: 100,
        length: Some(page as u64),
        ..Default::default()
    };
    let map = Map::open(&path, &options).unwrap();
    // The mapping starts 100 bytes into a page and ends 100 bytes into the next one.
    assert_eq!(residency(&map, 0, page).pages, 2);
    assert_eq!(residency(&map, 0, 1).pages, 1);
    assert_eq!(residency(&map, page - 1, page).pages, 1);
    map.prefetch(0, page).unwrap();
    assert_eq!(
        residency(&map, 0, page),
        Residency {
            pages: 2,
            resident: 2
        }
    );
    assert!(map.advise(Advice::WillNeed, 0, page).unwrap());
    map.lock(0, page).unwrap();
    map.unlock(0, page).unwrap();
}

#[test]
fn prefetch_makes_exactly_the_range_resident() {
    let page = page_size();
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "prefetch.bin", 512 * page as u64);
    let map = open(&path, Mode::Read, false);
    map.advise(Advice::Random, 0, map.len()).unwrap();
    map.prefetch(64 * page, 128 * page).unwrap();
    assert_eq!(
        residency(&map, 64 * page, 128 * page),
        Residency {
            pages: 64,
            resident: 64
        }
    );
    assert_eq!(residency(&map, 300 * page, 512 * page).resident, 0);
}

#[test]
fn populate_makes_every_page_resident_at_open_without_copying_private_pages() {
    let dir = tempfile::tempdir().unwrap();
    for (name, mode) in [("r.bin", Mode::Read), ("rw.bin", Mode::ReadWrite)] {
        let path = sparse(&dir, name, 1024 * page_size() as u64);
        let plain = open(&path, mode, false);
        assert_eq!(residency(&plain, 0, plain.len()).resident, 0, "{mode:?}");
        drop(plain);
        let map = open(&path, mode, true);
        assert_eq!(
            residency(&map, 0, map.len()),
            Residency {
                pages: 1024,
                resident: 1024
            },
            "{mode:?}"
        );
        // Read in, not written: no page became a private anonymous copy.
        let block = smaps_of(map.as_ptr().as_ptr() as usize);
        assert_eq!(smaps_kb(&block, "Anonymous"), 0, "{mode:?}: {block}");
    }
}

#[test]
fn lock_and_unlock_show_in_the_kernel_and_do_not_copy_private_pages() {
    let page = page_size();
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "lock.bin", 128 * page as u64);
    for mode in [Mode::Read, Mode::ReadWrite] {
        let map = open(&path, mode, false);
        let addr = map.as_ptr().as_ptr() as usize;
        map.lock(0, map.len()).unwrap();
        let block = smaps_of(addr);
        assert_eq!(smaps_kb(&block, "Locked"), 128 * page / 1024, "{mode:?}");
        assert_eq!(smaps_kb(&block, "Anonymous"), 0, "{mode:?}: {block}");
        assert_eq!(residency(&map, 0, map.len()).resident, 128);
        map.unlock(0, map.len()).unwrap();
        assert_eq!(smaps_kb(&smaps_of(addr), "Locked"), 0, "{mode:?}");
        // Unlocking what is not locked is no error, as munlock says.
        map.unlock(0, map.len()).unwrap();
    }
}

#[test]
fn lock_limit_errors_say_which_limit_to_raise() {
    let error = Error::LockLimit {
        source: std::io::Error::from_raw_os_error(libc::ENOMEM),
        syscall: "mlock",
        path: Some("/data/x.bin".into()),
        bytes: 1 << 30,
    };
    assert_eq!(error.code(), "ENOMEM");
    assert_eq!(error.errno(), Some(-libc::ENOMEM));
    assert_eq!(error.syscall(), Some("mlock"));
    assert_eq!(error.path(), Some("/data/x.bin"));
    let message = error.to_string();
    assert!(
        message.starts_with(
            "ENOMEM: not enough memory, mlock '/data/x.bin': locking 1073741824 bytes"
        ),
        "{message}"
    );
    assert!(message.contains("RLIMIT_MEMLOCK"), "{message}");
    assert!(message.contains("ulimit -l"), "{message}");
}

#[test]
fn methods_check_their_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "range.bin", 4096);
    let map = open(&path, Mode::Read, false);
    let len = map.len();
    assert!(matches!(map.lock(0, len + 1), Err(Error::OutOfRange(_))));
    assert!(matches!(map.unlock(2, 1), Err(Error::OutOfRange(_))));
    assert!(matches!(
        map.residency(len + 1, len + 1),
        Err(Error::OutOfRange(_))
    ));
    assert!(matches!(
        map.prefetch(0, len + 1),
        Err(Error::OutOfRange(_))
    ));
    // Empty ranges, and every method on an empty mapping, act on nothing.
    let empty = sparse(&dir, "empty.bin", 0);
    let empty = open(&empty, Mode::Read, false);
    assert_eq!(residency(&empty, 0, 0), Residency::default());
    empty.prefetch(0, 0).unwrap();
    empty.lock(0, 0).unwrap();
    assert!(empty.advise(Advice::WillNeed, 0, 0).unwrap());
}

#[test]
fn resize_read_write_sets_the_file_length_and_keeps_contents() {
    let page = page_size();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rw.bin");
    fs::write(&path, b"hello").unwrap();
    let mut map = open(&path, Mode::ReadWrite, false);
    let detached = Cell::new(0);
    let detach = || detached.set(detached.get() + 1);
    map.resize(3 * page as u64 + 1, detach).unwrap();
    assert_eq!(detached.get(), 1);
    assert_eq!(map.len(), 3 * page + 1);
    assert_eq!(fs::metadata(&path).unwrap().len(), 3 * page as u64 + 1);
    map.write(3 * page as u64, b"!").unwrap();
    let mut head = [0; 6];
    map.read(0, &mut head);
    assert_eq!(&head, b"hello\0");
    map.flush(0, map.len()).unwrap();
    assert_eq!(fs::read(&path).unwrap()[3 * page], b'!');
    map.resize(3, || {}).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"hel");
    map.resize(0, || {}).unwrap();
    assert!(map.is_empty());
    assert_eq!(fs::metadata(&path).unwrap().len(), 0);
    map.resize(10, || {}).unwrap();
    assert_eq!(fs::read(&path).unwrap(), [0; 10]);
}

#[test]
fn resize_with_an_offset_sets_the_length_to_offset_plus_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offset.bin");
    fs::write(&path, b"0123456789").unwrap();
    let options = OpenOptions {
        mode: Mode::Create,
        size: Some(10),
        ..Default::default()
    };
    drop(Map::open(&path, &options).unwrap());
    fs::write(&path, b"0123456789").unwrap();
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        offset: 3,
        length: Some(4),
        ..Default::default()
    };
    let mut map = Map::open(&path, &options).unwrap();
    map.resize(20, || {}).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 23);
    let mut bytes = [0; 8];
    map.read(0, &mut bytes);
    assert_eq!(&bytes, b"3456789\0");
    map.resize(2, || {}).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"01234");
}

#[test]
fn resize_after_advice_on_part_of_the_mapping_still_works() {
    // Advice or a lock on part of a mapping splits its kernel region; mremap refuses those with
    // EFAULT, and resize maps the pages anew instead.
    let page = page_size();
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(&dir, "split.bin", 16 * page as u64);
    let mut map = open(&path, Mode::ReadWrite, false);
    map.write(0, b"kept").unwrap();
    map.advise(Advice::Random, 0, 1).unwrap();
    map.resize(32 * page as u64, || {}).unwrap();
    let mut kept = [0; 4];
    map.read(0, &mut kept);
    assert_eq!(&kept, b"kept");
    assert_eq!(fs::metadata(&path).unwrap().len(), 32 * page as u64);

    let mut anon = Map::anonymous(16 * page as u64, &AnonymousOptions::default()).unwrap();
    anon.write(15 * page as u64, b"tail").unwrap();
    anon.advise(Advice::Sequential, page, 2 * page).unwrap();
    anon.resize(64 * page as u64, || {}).unwrap();
    anon.read(15 * page as u64, &mut kept);
    assert_eq!(&kept, b"tail");
}

#[test]
fn resize_read_only_follows_a_file_that_grew_and_refuses_past_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grows.bin");
    fs::write(&path, b"abc").unwrap();
    let options = OpenOptions {
        offset: 1,
        ..Default::default()
    };
    let mut map = Map::open(&path, &options).unwrap();
    assert_eq!(map.len(), 2);
    let detached = Cell::new(false);
    let error = map.resize(5, || detached.set(true)).unwrap_err();
    assert!(matches!(error, Error::OutOfRange(_)), "{error:?}");
    assert_eq!(error.code(), "ERR_MMAP_OUT_OF_RANGE");
    assert!(!detached.get(), "a refused resize detaches nothing");
    // Unchanged and usable.
    assert_eq!(map.len(), 2);
    let mut bytes = [0; 5];
    assert_eq!(map.read(0, &mut bytes), 2);
    assert_eq!(&bytes[..2], b"bc");

    fs::write(&path, b"abcdefgh").unwrap();
    map.resize(5, || detached.set(true)).unwrap();
    assert!(detached.get());
    assert_eq!(map.read(0, &mut bytes), 5);
    assert_eq!(&bytes, b"bcdef");
    assert_eq!(map.mode(), Mode::Read);
    assert!(matches!(map.write(0, b"x"), Err(Error::ReadOnly)));

    // A path that is gone is the fs error, with nothing changed.
    fs::remove_file(&path).unwrap();
    let error = map.resize(1, || {}).unwrap_err();
    assert_eq!(errno(&error), libc::ENOENT);
    assert_eq!(error.syscall(), Some("open"));
    assert_eq!(map.len(), 5);
    assert_eq!(map.read(0, &mut bytes), 5);
}

#[test]
fn resize_anonymous_keeps_contents() {
    let page = page_size();
    let mut map = Map::anonymous(2 * page as u64, &AnonymousOptions::default()).unwrap();
    map.write(0, b"first").unwrap();
    map.write(2 * page as u64 - 4, b"last").unwrap();
    map.resize(1 << 24, || {}).unwrap();
    let mut bytes = [0; 5];
    map.read(0, &mut bytes);
    assert_eq!(&bytes, b"first");
    map.read(2 * page as u64 - 4, &mut bytes[..4]);
    assert_eq!(&bytes[..4], b"last");
    assert_eq!(touch(&map, (1 << 24) - 1), 0);
    map.resize(3, || {}).unwrap();
    assert_eq!(map.len(), 3);
    assert_eq!(map.read(0, &mut bytes), 3);
    assert_eq!(&bytes[..3], b"fir");
    map.resize(0, || {}).unwrap();
    assert!(map.is_empty());
    map.resize(page as u64, || {}).unwrap();
    assert_eq!(touch(&map, 0), 0);
    assert!(matches!(
        map.resize(u64::MAX, || {}),
        Err(Error::OutOfRange(_))
    ));
    assert_eq!(map.len(), page);
}

#[test]
fn anonymous_is_zero_filled_read_write_memory() {
    let page = page_size();
    let map = Map::anonymous(3 * page as u64 + 5, &AnonymousOptions::default()).unwrap();
    assert_eq!(map.kind(), Kind::Anonymous);
    assert_eq!(map.mode(), Mode::ReadWrite);
    assert_eq!(map.path(), None);
    assert_eq!(map.offset(), 0);
    assert_eq!(map.len(), 3 * page + 5);
    assert_eq!(residency(&map, 0, map.len()).resident, 0);
    map.write(page as u64, b"x").unwrap();
    assert_eq!(residency(&map, 0, map.len()).resident, 1);
    assert_eq!(residency(&map, page, 2 * page).resident, 1);
    let mut bytes = vec![1; map.len()];
    map.read(0, &mut bytes);
    bytes[page] = 0;
    assert!(bytes.iter().all(|&b| b == 0));
    assert!(Map::anonymous(0, &AnonymousOptions::default())
        .unwrap()
        .is_empty());
}

#[test]
fn anonymous_populate_and_lock() {
    let page = page_size();
    let options = AnonymousOptions {
        populate: true,
        lock: true,
        ..Default::default()
    };
    let map = Map::anonymous(64 * page as u64, &options).unwrap();
    assert_eq!(
        residency(&map, 0, map.len()),
        Residency {
            pages: 64,
            resident: 64
        }
    );
    let block = smaps_of(map.as_ptr().as_ptr() as usize);
    assert_eq!(smaps_kb(&block, "Locked"), 64 * page / 1024);
    // Populated means allocated (written), not mapped to the shared zero page.
    assert_eq!(smaps_kb(&block, "Anonymous"), 64 * page / 1024);
}

#[test]
fn anonymous_too_large_is_enomem_or_out_of_range() {
    let error = Map::anonymous(1 << 50, &AnonymousOptions::default()).unwrap_err();
    assert_eq!(errno(&error), libc::ENOMEM);
    assert_eq!(error.syscall(), Some("mmap"));
    assert_eq!(error.path(), None);
    assert!(matches!(
        Map::anonymous(u64::MAX, &AnonymousOptions::default()),
        Err(Error::OutOfRange(_))
    ));
}

fn thp_offered() -> bool {
    fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| !mode.contains("[never]"))
}

#[test]
fn anonymous_huge_pages_are_backed_by_transparent_huge_pages() {
    let options = AnonymousOptions {
        huge_pages: true,
        populate: true,
        ..Default::default()
    };
    let map = Map::anonymous(8 << 20, &options).unwrap();
    // The hint is harmless either way: the memory works as any other.
    map.write(8 << 19, b"works").unwrap();
    let mut back = [0u8; 5];
    assert_eq!(map.read(8 << 19, &mut back), 5);
    assert_eq!(&back, b"works");
    // madvise(MADV_HUGEPAGE) marks the region whatever the system-wide mode is.
    let block = smaps_of(map.as_ptr().as_ptr() as usize);
    assert!(vm_flags(&block).contains(&"hg".to_owned()), "{block}");
    let huge_kb = smaps_kb(&block, "AnonHugePages");
    if thp_offered() {
        // 8 MiB holds at least three aligned 2 MiB blocks wherever it starts.
        assert!(huge_kb >= 2048, "{block}");
    } else {
        // With transparent huge pages set to `never`, the kernel backs the region with small pages.
        assert_eq!(huge_kb, 0, "{block}");
    }
}
