//! The channel type between threads of this process (the specs in `__test__/channel*.spec.ts`
//! cover processes and Node.js): round trips, sizes that wrap the ring, full and empty, `end()`,
//! and scribbled bytes reported, never followed.

use std::thread;
use std::time::Duration;

use memmap_core::channel::Channel;
use memmap_core::{AnonymousOptions, Error, Handle, Map};

fn handle() -> Handle {
    Handle::new(Map::anonymous(1 << 16, &AnonymousOptions::default()).unwrap())
}

#[test]
fn round_trips_full_empty_and_end() {
    let h = handle();
    let c = Channel::new(&h, 0, 1024).unwrap();
    assert_eq!(c.max_message(), 1024 - 256 - 8);
    assert_eq!(c.try_receive().unwrap(), None);
    c.send(b"hello", None).unwrap();
    c.send(b"", None).unwrap();
    assert_eq!(c.receive(None).unwrap().unwrap(), b"hello");
    assert_eq!(c.receive(None).unwrap().unwrap(), b"");
    c.send(&vec![7; c.max_message()], None).unwrap();
    assert!(!c.try_send(b"x").unwrap(), "full");
    assert!(matches!(
        c.send(b"x", Some(Duration::from_millis(20))),
        Err(Error::Timeout { what: "send", .. })
    ));
    assert_eq!(c.receive(None).unwrap().unwrap(), vec![7; c.max_message()]);
    assert!(matches!(
        c.send(&vec![0; c.max_message() + 1], None),
        Err(Error::TooLarge(_))
    ));
    assert!(matches!(
        c.receive(Some(Duration::from_millis(20))),
        Err(Error::Timeout {
            what: "receive",
            ..
        })
    ));
    // Every size, many laps of the ring.
    for i in 0..5_000usize {
        let message: Vec<u8> = (0..i % 300).map(|b| (b + i) as u8).collect();
        c.send(&message, None).unwrap();
        assert_eq!(c.receive(None).unwrap().unwrap(), message);
    }
    c.send(b"last", None).unwrap();
    c.end().unwrap();
    assert!(c.ended().unwrap());
    assert!(matches!(
        c.send(b"x", None),
        Err(Error::ChannelEnded { offset: 0 })
    ));
    assert_eq!(c.receive(None).unwrap().unwrap(), b"last");
    assert_eq!(c.receive(None).unwrap(), None, "ended and empty");
}

#[test]
fn another_byte_length_is_refused_and_scribbles_are_corrupt() {
    let h = handle();
    Channel::new(&h, 64, 4096).unwrap();
    assert!(matches!(
        Channel::new(&h, 64, 2048),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Channel::new(&h, 4, 2048),
        Err(Error::ArgumentRange(_))
    ));
    assert!(matches!(
        Channel::new(&h, 0, 1 << 17),
        Err(Error::OutOfRange(_))
    ));
    let c = Channel::new(&h, 8192, 4096).unwrap();
    c.send(b"abc", None).unwrap();
    // The record's length without its complement.
    h.with(|map| map.store_i32(8192 + 256, 1000)).unwrap();
    assert!(matches!(c.receive(None), Err(Error::ChannelCorrupt(_))));
    // Lengths with their complements whose padding to 8 overflows 32 bits, and one past the ring.
    for length in [u32::MAX, u32::MAX - 6, i32::MAX as u32, 4096 - 256 - 8 + 1] {
        h.with(|map| {
            map.store_i32(8192 + 256, length as i32)?;
            map.store_i32(8192 + 260, !length as i32)
        })
        .unwrap();
        assert!(matches!(c.try_receive(), Err(Error::ChannelCorrupt(_))));
    }
    // A tail past twice the ring.
    h.with(|map| map.store_i32(8192 + 64, 1 << 30)).unwrap();
    assert!(matches!(c.try_send(b"x"), Err(Error::ChannelCorrupt(_))));
}

#[test]
fn four_threads_send_three_receive_each_message_once_in_order() {
    let h = handle();
    let c = Channel::new(&h, 0, 8192).unwrap();
    let senders: Vec<_> = (0..4u32)
        .map(|s| {
            let c = c.clone();
            thread::spawn(move || {
                for i in 0..5_000u32 {
                    let mut message = s.to_le_bytes().to_vec();
                    message.extend(i.to_le_bytes());
                    message.resize(8 + (i as usize * 13) % 200, s as u8);
                    c.send(&message, None).unwrap();
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            thread::spawn(move || {
                let mut got = vec![Vec::new(); 4];
                while let Some(message) = c.receive(None).unwrap() {
                    let s = u32::from_le_bytes(message[..4].try_into().unwrap()) as usize;
                    let i = u32::from_le_bytes(message[4..8].try_into().unwrap());
                    assert_eq!(message.len(), 8 + (i as usize * 13) % 200);
                    assert!(message[8..].iter().all(|&b| b == s as u8), "whole");
                    got[s].push(i);
                }
                got
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    c.end().unwrap();
    let mut all = vec![Vec::new(); 4];
    for receiver in receivers {
        for (s, seqs) in receiver.join().unwrap().into_iter().enumerate() {
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "per-sender order");
            all[s].extend(seqs);
        }
    }
    for mut seqs in all {
        seqs.sort_unstable();
        assert_eq!(seqs, (0..5_000).collect::<Vec<_>>(), "each once");
    }
}
