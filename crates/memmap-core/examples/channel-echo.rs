//! Takes part in a memmap channel from Rust: receives messages on the channel at offset 0 of the
//! named shared memory, and sends each back upper-cased on a second channel of the same length
//! right after it (at the next multiple of 64), until the first one ends; then ends the second.
//!
//! ```sh
//! cargo run -p memmap-core --example channel-echo -- <shared memory name> <byteLength>
//! ```
//!
//! `__test__/channel-rust.spec.ts` runs it against Node.js; docs/channels.md is the layout.

use std::process::ExitCode;

use memmap_core::channel::Channel;
use memmap_core::{Handle, Map};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, length] = args.as_slice() else {
        eprintln!("usage: channel-echo <shared memory name> <byteLength>");
        return ExitCode::from(2);
    };
    let Ok(length) = length.parse::<usize>() else {
        eprintln!("channel-echo: byteLength must be a number, not {length:?}");
        return ExitCode::from(2);
    };
    match echo(name, length) {
        Ok(count) => {
            println!("echoed {count} messages");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("channel-echo: {error} ({})", error.code());
            ExitCode::FAILURE
        }
    }
}

fn echo(name: &str, length: usize) -> memmap_core::Result<usize> {
    let handle = Handle::new(Map::open_shared(name, false)?);
    let requests = Channel::new(&handle, 0, length)?;
    let replies = Channel::new(&handle, length.div_ceil(64) * 64, length)?;
    let mut count = 0;
    while let Some(mut message) = requests.receive(None)? {
        message.make_ascii_uppercase();
        replies.send(&message, None)?;
        count += 1;
    }
    replies.end()?;
    Ok(count)
}
