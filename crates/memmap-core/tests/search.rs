//! `Map::search` against a plain scan of the same bytes: matches on both sides of the chunk
//! seams, Node's offset rules, and giving up when asked.

use std::fs;

use memmap_core::{Direction, Error, Map, OpenOptions};

/// A file of `len` bytes of 'a' with `needle` written at each of `at`.
fn mapped(dir: &tempfile::TempDir, len: usize, needle: &[u8], at: &[usize]) -> (Map, Vec<u8>) {
    let mut bytes = vec![b'a'; len];
    for &at in at {
        bytes[at..at + needle.len()].copy_from_slice(needle);
    }
    let path = dir.path().join("haystack.bin");
    fs::write(&path, &bytes).unwrap();
    (Map::open(&path, &OpenOptions::default()).unwrap(), bytes)
}

fn plain(bytes: &[u8], needle: &[u8], from: usize, forward: bool) -> Option<usize> {
    let starts = 0..=bytes.len().checked_sub(needle.len())?;
    let hit = |&i: &usize| &bytes[i..i + needle.len()] == needle;
    if forward {
        starts.filter(|&i| i >= from).find(hit)
    } else {
        starts.filter(|&i| i <= from).rev().find(hit)
    }
}

#[test]
fn finds_what_a_plain_scan_finds_across_chunk_seams() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = 128 * 1024;
    let needle = b"needle-in-here";
    // Matches straddling the first and second seam, and one near the end.
    let at = [
        chunk - 5,
        2 * chunk - 1,
        3 * chunk + 17,
        4 * chunk - needle.len(),
    ];
    let (map, bytes) = mapped(&dir, 4 * chunk, needle, &at);
    for from in [
        0,
        1,
        chunk - 5,
        chunk - 4,
        2 * chunk,
        3 * chunk + 18,
        4 * chunk - 1,
    ] {
        let forward = map.search(needle, from as i64, Direction::Forward, &|| false);
        assert_eq!(
            forward.unwrap(),
            plain(&bytes, needle, from, true),
            "forward from {from}"
        );
        let backward = map.search(needle, from as i64, Direction::Backward, &|| false);
        assert_eq!(
            backward.unwrap(),
            plain(&bytes, needle, from, false),
            "backward from {from}"
        );
    }
    assert_eq!(
        map.search(b"b", 0, Direction::Forward, &|| false).unwrap(),
        None
    );
}

#[test]
fn follows_nodes_offset_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (map, _) = mapped(&dir, 100, b"xy", &[10, 90]);
    let find = |needle: &[u8], offset, direction| {
        map.search(needle, offset, direction, &|| false).unwrap()
    };
    assert_eq!(find(b"xy", -10, Direction::Forward), Some(90));
    assert_eq!(find(b"xy", -1000, Direction::Forward), Some(10));
    assert_eq!(find(b"xy", -1000, Direction::Backward), None);
    assert_eq!(find(b"xy", 1000, Direction::Forward), None);
    assert_eq!(find(b"xy", 1000, Direction::Backward), Some(90));
    assert_eq!(find(b"xy", 89, Direction::Backward), Some(10));
    assert_eq!(find(b"", 1000, Direction::Forward), Some(100));
    assert_eq!(find(b"", 7, Direction::Backward), Some(7));
}

#[test]
fn gives_up_between_chunks_when_told_to() {
    let dir = tempfile::tempdir().unwrap();
    let (map, _) = mapped(&dir, 1 << 20, b"z", &[(1 << 20) - 1]);
    let result = map.search(b"z", 0, Direction::Forward, &|| true);
    assert!(matches!(result, Err(Error::Closed)), "{result:?}");
    // The first chunk is always searched: a match there is found even so.
    assert_eq!(
        map.search(b"a", 0, Direction::Forward, &|| true).unwrap(),
        Some(0)
    );
}
