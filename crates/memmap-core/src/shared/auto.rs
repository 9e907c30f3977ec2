//! The names `createShared(length)` makes, and sweeping those whose creator has ended.
//!
//! # The name
//! On Linux: `mm`, the creating *process's* token in base 36, `-`, its stamp in base 36, `-`,
//! then lowercase hex digits up to [`MAX_NAME_LEN`] (30) characters: 13 to 24 of them, 52 to 96
//! random bits. (token, stamp) is the identity of the process's main thread in the scheme of the
//! robust locks (`sync/linux.rs`): the process id with 9 bits of its PID namespace's tag, then 8
//! more tag bits with 24 bits of its start time. A token takes at most 6 base-36 digits, a stamp
//! 7, so the prefix is at most 17 characters. Both are written without leading zeros, and every
//! name is exactly 30 characters long: only a name spelt exactly so is ever taken for one made
//! here ([`parse`]).
//!
//! Elsewhere, and on Linux when the identity cannot be worked out (no `/proc`), the name is
//! `mm`, the process id in base 36, `-` and 16 hex digits (64 random bits): it has one `-`, so
//! it never parses, and [`sweep`] leaves it alone.
//!
//! # Sweeping
//! Linux lists POSIX shared memory as the files of `/dev/shm` (a tmpfs). [`sweep`] judges the
//! creator of every name there that parses, with [`verdict`] as a lock's holder is judged, and
//! removes the name only if the creator has provably ended ([`Verdict::Ended`]: no such process,
//! a zombie, or the id reused by a process born at another time). A creator in another PID
//! namespace ([`Verdict::Unknown`]) or alive keeps its name. macOS and FreeBSD offer no way to
//! list shm names, Windows objects end with their last handle, and Android has no named shared
//! memory at all: there [`sweep`] returns nothing.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(target_os = "linux")]
use crate::error::{Error, Result};
// What only Linux's names carry (the tests check them everywhere).
#[cfg(any(target_os = "linux", test))]
use super::MAX_NAME_LEN;
#[cfg(any(target_os = "linux", test))]
use crate::identity::Identity;
#[cfg(target_os = "linux")]
use crate::identity::{verdict, Verdict};

/// 64 bits no other call, thread or process gets: SipHash under keys the standard library draws
/// from the OS's random source (per thread, then stepped for each `RandomState`), over a counter
/// and the time. Unguessable, so that nobody can take a name before it is made.
pub(crate) fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}

/// `value` in base 36, lowercase, without leading zeros.
fn base36(mut value: u32) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// A base-36 number spelt as [`base36`] spells it, at most `digits` long, or `None`.
#[cfg(any(target_os = "linux", test))]
fn parse_base36(text: &str, digits: usize) -> Option<u32> {
    let bytes = text.as_bytes();
    let canonical = !bytes.is_empty()
        && bytes.len() <= digits
        && bytes[0] != b'0'
        && bytes
            .iter()
            .all(|&b| b.is_ascii_digit() || b.is_ascii_lowercase());
    canonical
        .then(|| u64::from_str_radix(text, 36).ok())
        .flatten()
        .and_then(|value| u32::try_from(value).ok())
}

/// The name of `identity` with `random`'s hex digits after it, [`MAX_NAME_LEN`] long.
#[cfg(any(target_os = "linux", test))]
fn name_of(identity: Identity, random: [u64; 2]) -> String {
    let mut name = format!("mm{}-{}-", base36(identity.token), base36(identity.stamp));
    let hex = format!("{:016x}{:016x}", random[0], random[1]);
    let room = MAX_NAME_LEN.saturating_sub(name.len());
    name.push_str(&hex[..room]);
    name
}

/// The identity a name made here carries, or `None` for any other name.
#[cfg(any(target_os = "linux", test))]
fn parse(name: &str) -> Option<Identity> {
    if name.len() != MAX_NAME_LEN {
        return None;
    }
    let mut parts = name.strip_prefix("mm")?.split('-');
    let (token, stamp, hex) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || hex.len() < 13
        || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let token = parse_base36(token, 6)?;
    let stamp = parse_base36(stamp, 7)?;
    // A token names a thread id (low 22 bits, never 0) below the waiters' bit, and is never the
    // abandoned lock's; a stamp is never 0. Anything else was not made by `name_of`.
    let tid = token & ((1 << 22) - 1);
    (tid != 0 && token < crate::identity::ABANDONED).then_some(Identity { token, stamp })
}

/// A new name for `createShared(length)` (see the module documentation): this process's identity
/// and random digits on Linux; the process id and 64 random bits elsewhere.
pub fn unique_name() -> String {
    #[cfg(target_os = "linux")]
    if let Some(me) = crate::identity::process_identity() {
        return name_of(me, [random_u64(), random_u64()]);
    }
    format!("mm{}-{:016x}", base36(std::process::id()), random_u64())
}

/// Where Linux keeps POSIX shared memory objects, one file each.
#[cfg(target_os = "linux")]
const SHM_DIR: &str = "/dev/shm";

/// Removes the names made by [`unique_name`] whose creating process has ended, and returns them.
/// A name someone else removed meanwhile, or that this user may not remove, is left out.
#[cfg(target_os = "linux")]
pub fn sweep() -> Result<Vec<String>> {
    let Some(me) = crate::identity::process_identity() else {
        // Without an identity nothing can be judged (and no name here was made with one).
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(SHM_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::os(e, "scandir", Some(SHM_DIR))),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::os(e, "scandir", Some(SHM_DIR)))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(creator) = parse(&name) else {
            continue;
        };
        // shm_open makes regular files; anything else under such a name is not ours.
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        if verdict(creator, me, true) != Verdict::Ended {
            continue;
        }
        match super::sys::unlink(&name) {
            Ok(true) => removed.push(name),
            Ok(false) => {}
            // Another user's name in the sticky /dev/shm: theirs to sweep.
            Err(e) if matches!(e.code(), "EACCES" | "EPERM") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// See the module documentation: no system but Linux can list its names, so nothing is swept.
#[cfg(not(target_os = "linux"))]
pub fn sweep() -> crate::error::Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::{base36, name_of, parse, parse_base36, unique_name};
    use crate::identity::Identity;
    use crate::shared::check_name;

    #[test]
    fn base36_round_trips() {
        for value in [
            1,
            35,
            36,
            1295,
            1296,
            (1 << 22) - 1,
            (1 << 31) - 2,
            u32::MAX,
        ] {
            assert_eq!(parse_base36(&base36(value), 7), Some(value), "{value}");
        }
        assert_eq!(base36(u32::MAX), "1z141z3");
        assert_eq!(base36((1 << 31) - 1).len(), 6);
        for bad in ["", "0", "01", "A", "+1", "-1", "a_", "zzzzzzz"] {
            assert_eq!(parse_base36(bad, 7), None, "{bad:?}");
        }
        assert_eq!(parse_base36("1234567", 6), None);
    }

    #[test]
    fn made_names_parse_back_to_their_identity() {
        let identities = [
            Identity { token: 1, stamp: 1 },
            Identity {
                token: 12345 | (3 << 22),
                stamp: (7 << 24) | 99,
            },
            // The longest: the largest token that is not the abandoned one, the largest stamp.
            Identity {
                token: (1 << 31) - 2,
                stamp: u32::MAX,
            },
        ];
        for identity in identities {
            for random in [[0, 0], [u64::MAX, u64::MAX], [0x0123_4567_89ab_cdef, 7]] {
                let name = name_of(identity, random);
                assert_eq!(name.len(), 30, "{name}");
                check_name(&name).unwrap();
                assert_eq!(parse(&name), Some(identity), "{name}");
                // At least 13 hex digits: 52 random bits.
                assert!(name.rsplit('-').next().unwrap().len() >= 13, "{name}");
            }
        }
        assert_eq!(
            name_of(
                Identity { token: 1, stamp: 1 },
                [0x0123_4567_89ab_cdef, 0xff]
            ),
            "mm1-1-0123456789abcdef00000000"
        );
    }

    #[test]
    fn this_process_names_itself() {
        let name = unique_name();
        check_name(&name).unwrap();
        assert_ne!(name, unique_name());
        #[cfg(target_os = "linux")]
        {
            let me = crate::identity::process_identity().expect("Linux with /proc");
            assert_eq!(parse(&name), Some(me));
            assert_eq!(me.token & ((1 << 22) - 1), std::process::id());
        }
        #[cfg(not(target_os = "linux"))]
        assert_eq!(parse(&name), None);
    }

    #[test]
    fn other_names_are_not_taken_for_made_ones() {
        let made = name_of(
            Identity {
                token: 12345,
                stamp: 678,
            },
            [0x0123_4567_89ab_cdef, 0x0123_4567_89ab_cdef],
        );
        assert_eq!(made, "mm9ix-iu-0123456789abcdef01234");
        // `prefix`, then hex digits up to 30 characters.
        let fill = |prefix: &str| {
            let name = format!(
                "{prefix}{}",
                &"0123456789abcdef".repeat(2)[..30 - prefix.len()]
            );
            assert_eq!(name.len(), 30);
            name
        };
        assert_eq!(
            parse(&fill("mm9ix-iu-")),
            Some(Identity {
                token: 12345,
                stamp: 678
            })
        );
        let foreign = [
            // The form before identities, and in use off Linux: one '-'.
            "mm9ix-0123456789abcdef".to_owned(),
            fill("mm9ix-"),
            // One character short, one too many (over the limit anyway).
            made[..29].to_owned(),
            format!("{made}0"),
            // Upper case, leading zeros, a third '-', a non-hex tail, another prefix.
            made.to_uppercase(),
            fill("mm09ix-iu-"),
            fill("mm9ix-0iu-"),
            fill("mm9ix-iu-0123-"),
            fill("mm9ix-iu-g"),
            fill("xm9ix-iu-"),
            fill("mm-9ix-iu-"),
            fill("mm9ix--"),
            // A token and a stamp longer than any made here (and too few random digits).
            fill("mmzzzzzzz-zzzzzzz-"),
            // No thread id, the abandoned token, a token past 31 bits, a stamp past 32.
            name_of(
                Identity {
                    token: 1 << 22,
                    stamp: 678,
                },
                [0, 0],
            ),
            name_of(
                Identity {
                    token: crate::identity::ABANDONED,
                    stamp: 678,
                },
                [0, 0],
            ),
            fill("mmzik0zk-iu-"),
            fill("mm9ix-1z141z4-"),
            // No stamp.
            name_of(
                Identity {
                    token: 12345,
                    stamp: 0,
                },
                [0, 0],
            ),
            "keepme-x".to_owned(),
            "mmjs-123-0".to_owned(),
        ];
        for name in &foreign {
            assert_eq!(parse(name), None, "{name:?}");
        }
    }
}
