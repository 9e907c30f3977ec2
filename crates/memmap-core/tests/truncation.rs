#![cfg(unix)]
//! The truncation guard: a file cut short under a live mapping reads as zeros from the first lost
//! page, writes there stay in memory, and flush reports the truncation. Without the guard each
//! of these tests would die by SIGBUS.

use std::fs;

use memmap_core::{page_size, Error, Map, Mode, OpenOptions};

fn mapped_file(pages: usize, mode: Mode) -> (tempfile::TempDir, std::path::PathBuf, Map) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.bin");
    fs::write(&path, vec![0xa5; pages * page_size()]).unwrap();
    let map = Map::open(
        &path,
        &OpenOptions {
            mode,
            ..Default::default()
        },
    )
    .unwrap();
    (dir, path, map)
}

fn cut(path: &std::path::Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn lost_pages_read_as_zeros_and_flush_reports_truncation() {
    let page = page_size();
    let (_dir, path, map) = mapped_file(4, Mode::ReadWrite);
    cut(&path, page as u64 + 10);
    let mut all = vec![0xff; 4 * page];
    assert_eq!(map.read(0, &mut all), 4 * page);
    // The page that still holds file bytes is intact up to the file's end (the kernel zero-fills
    // the rest of a partial last page); every later page reads as zeros.
    assert!(all[..page + 10].iter().all(|&b| b == 0xa5));
    assert!(all[2 * page..].iter().all(|&b| b == 0));
    assert!(map.lost_pages());
    match map.flush(0, page) {
        Err(error @ Error::Truncated { .. }) => assert_eq!(error.code(), "ERR_MMAP_TRUNCATED"),
        other => panic!("expected ERR_MMAP_TRUNCATED, got {other:?}"),
    }
    // Writes to lost pages land in memory only: readable back, never in the file.
    map.write(3 * page as u64, b"kept in memory").unwrap();
    let mut back = [0; 14];
    map.read(3 * page as u64, &mut back);
    assert_eq!(&back, b"kept in memory");
    assert_eq!(fs::metadata(&path).unwrap().len(), page as u64 + 10);
}

#[test]
fn a_file_cut_to_zero_under_a_private_mapping() {
    let (_dir, path, map) = mapped_file(3, Mode::Read);
    cut(&path, 0);
    let mut all = vec![0xff; map.len()];
    map.read(0, &mut all);
    assert!(all.iter().all(|&b| b == 0));
    assert!(matches!(map.flush(0, 1), Err(Error::Truncated { .. })));
}

#[test]
fn flush_reports_a_shorter_file_even_before_any_touch() {
    let (_dir, path, map) = mapped_file(2, Mode::ReadWrite);
    cut(&path, 100);
    assert!(!map.lost_pages());
    assert!(matches!(map.flush(0, 10), Err(Error::Truncated { .. })));
}

#[test]
fn many_faults_in_many_mappings_do_not_exhaust_map_regions() {
    let page = page_size();
    let mut maps = Vec::new();
    for _ in 0..200 {
        let (dir, path, map) = mapped_file(64, Mode::ReadWrite);
        cut(&path, 0);
        maps.push((dir, map));
    }
    let regions = || {
        fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count()
    };
    let before = regions();
    let mut byte = [0u8; 1];
    for (_, map) in &maps {
        // Every page from the end backwards, the worst order: each fault replaces from its page
        // to the end of the mapping, and the kernel merges that with the zero pages after it.
        for index in (0..64).rev() {
            map.read((index * page) as u64, &mut byte);
            assert_eq!(byte[0], 0);
        }
    }
    // 12,800 faults; scattered one-page replacements would have added two regions each.
    let after = regions();
    assert!(
        after < before + 1000,
        "map regions grew from {before} to {after}"
    );
}

#[test]
fn writes_to_mended_pages_survive_a_later_fault_below_them() {
    let page = page_size();
    let (_dir, path, map) = mapped_file(8, Mode::ReadWrite);
    cut(&path, 0);
    let mut byte = [0u8; 1];
    // Touch page 5 first: pages 5..8 are mended; write into page 6.
    map.read(5 * page as u64, &mut byte);
    map.write(6 * page as u64, b"written after the first fault")
        .unwrap();
    // A fault below (page 2) mends pages 2..5 and must leave page 6 alone.
    map.read(2 * page as u64, &mut byte);
    let mut back = [0u8; 29];
    map.read(6 * page as u64, &mut back);
    assert_eq!(&back, b"written after the first fault");
}

#[test]
fn a_private_mapping_does_not_consult_its_path_when_flushing() {
    let (_dir, path, map) = mapped_file(2, Mode::Read);
    // The path now names another, shorter file, and then none at all: neither cut these pages.
    fs::remove_file(&path).unwrap();
    fs::write(&path, b"short").unwrap();
    assert!(map.flush(0, 10).is_ok());
    fs::remove_file(&path).unwrap();
    assert!(map.flush(0, map.len()).is_ok());
    let mut all = vec![0; map.len()];
    map.read(0, &mut all);
    assert!(
        all.iter().all(|&b| b == 0xa5),
        "the pages still show the old file"
    );
}

#[test]
fn a_zero_length_read_into_a_null_pointer_copies_nothing() {
    let (_dir, _path, map) = mapped_file(1, Mode::Read);
    // SAFETY: a capacity of 0 asks for no byte of the target; null is what an empty JavaScript
    // typed array may hand over.
    assert_eq!(unsafe { map.copy_out(0, std::ptr::null_mut(), 0) }, 0);
}
