//! A message queue in bytes of a mapping: the same channel as the facade's `mapping.channel()`,
//! step for step, so that a Rust program and Node.js processes share one. `docs/channels.md` is
//! the specification: the layout, the steps of a send and a receive, and the model of what a
//! party's death at each step leaves. In short, a robust send lock and receive lock (the mutexes
//! of `sync/mutex.rs`) serialise each side; a record exists once the tail has moved past it and
//! is consumed once the head has, each one atomic store.

use std::time::{Duration, Instant};

use crate::identity::me;
use crate::waiter::Waiter;
use crate::{Error, Handle, Map, Result, WaitResult};

// Byte offsets inside the channel (docs/channels.md, "Layout").
const SEND_LOCK: usize = 0;
const GEOMETRY: usize = 8;
const STATE: usize = 12;
const TAIL: usize = 64;
const DATA_WANTED: usize = 68;
const DATA_SEQ: usize = 72;
const RECEIVE_LOCK: usize = 128;
const HEAD: usize = 192;
const SPACE_WANTED: usize = 196;
const SPACE_SEQ: usize = 200;
/// Where the ring starts.
pub const HEADER: usize = 256;
const RECORD_HEADER: usize = 8;
const ENDED: i32 = 1;
/// The largest ring: positions count modulo twice it, which must stay a positive Int32.
pub const MAX_RING: usize = 1 << 30;
/// The longest sleep between looks (a party that died between its store and its wake-up leaves
/// a sleeper unwoken).
const SLICE: Duration = Duration::from_millis(250);

/// The send or the receive side's words.
#[derive(Clone, Copy)]
struct Side {
    lock: usize,
    wanted: usize,
    seq: usize,
    what: &'static str,
}

const SEND: Side = Side {
    lock: SEND_LOCK,
    wanted: SPACE_WANTED,
    seq: SPACE_SEQ,
    what: "send",
};
const RECEIVE: Side = Side {
    lock: RECEIVE_LOCK,
    wanted: DATA_WANTED,
    seq: DATA_SEQ,
    what: "receive",
};

/// A channel in `[offset, offset + length)` of a mapping.
#[derive(Debug, Clone)]
pub struct Channel {
    handle: Handle,
    offset: usize,
    ring: usize,
}

const fn ceil8(n: usize) -> usize {
    (n + 7) & !7
}

impl Channel {
    /// The channel at `offset` (8-aligned) of `length` bytes (at least 272, at most 2^30 + 256);
    /// the first party records `length`, and a party that passes another is refused.
    pub fn new(handle: &Handle, offset: usize, length: usize) -> Result<Channel> {
        if !offset.is_multiple_of(8) || !(HEADER + 16..=HEADER + MAX_RING).contains(&length) {
            return Err(Error::ArgumentRange(format!(
                "A channel needs an 8-aligned offset and {} to {} bytes; got {length} bytes at \
                 offset {offset}",
                HEADER + 16,
                HEADER + MAX_RING
            )));
        }
        let channel = Channel {
            handle: handle.clone(),
            offset,
            ring: (length - HEADER) / 8 * 8,
        };
        handle.with(|map| {
            if offset.checked_add(length).is_none_or(|end| end > map.len()) {
                return Err(Error::OutOfRange(format!(
                    "The channel [{offset}, {}) runs past the end of the mapping ({} bytes)",
                    offset.saturating_add(length),
                    map.len()
                )));
            }
            let found = map.compare_exchange_i32(offset + GEOMETRY, 0, length as i32)?;
            if found != 0 && found != length as i32 {
                return Err(Error::InvalidArgument(format!(
                    "The channel at byte {offset} was made with byteLength {found}, not \
                     {length}: every party must pass the same"
                )));
            }
            Ok(())
        })?;
        Ok(channel)
    }

    /// The largest message that fits.
    pub fn max_message(&self) -> usize {
        self.ring - RECORD_HEADER
    }

    /// Queues `message`, waiting while the channel is full, up to `timeout` (`None`: no limit).
    pub fn send(&self, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        self.check_size(message)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        self.locked(SEND, deadline, |channel| {
            channel.waiting(SEND, deadline, |map| channel.put(map, message))
        })
    }

    /// [`Channel::send`] if it can be done now; `false` when full or another sender is sending.
    pub fn try_send(&self, message: &[u8]) -> Result<bool> {
        self.check_size(message)?;
        self.try_locked(SEND, |channel| {
            channel.handle.with(|map| channel.put(map, message))
        })
        .map(|sent| sent == Some(Some(())))
    }

    /// The next message, waiting while the channel is empty, up to `timeout`; `Ok(None)` once
    /// the channel has ended and is empty.
    pub fn receive(&self, timeout: Option<Duration>) -> Result<Option<Vec<u8>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.locked(RECEIVE, deadline, |channel| {
            channel.waiting(RECEIVE, deadline, |map| match channel.take(map)? {
                Some(message) => Ok(Some(Some(message))),
                None if map.load_i32(channel.offset + STATE)? & ENDED != 0 => Ok(Some(None)),
                None => Ok(None),
            })
        })
    }

    /// The next message if there is one now (and no other receiver is receiving).
    pub fn try_receive(&self) -> Result<Option<Vec<u8>>> {
        self.try_locked(RECEIVE, |channel| {
            channel.handle.with(|map| channel.take(map))
        })
        .map(Option::flatten)
    }

    /// No more messages: sends fail with [`Error::ChannelEnded`]; receivers drain, then get `None`.
    pub fn end(&self) -> Result<()> {
        self.handle.with(|map| {
            map.rmw_i32(crate::Rmw::Or, self.offset + STATE, ENDED)?;
            map.rmw_i32(crate::Rmw::Add, self.offset + DATA_SEQ, 1)?;
            map.rmw_i32(crate::Rmw::Add, self.offset + SPACE_SEQ, 1)?;
            Ok(())
        })?;
        self.handle.notify(self.offset + DATA_SEQ, u32::MAX)?;
        self.handle.notify(self.offset + SPACE_SEQ, u32::MAX)?;
        Ok(())
    }

    /// Whether `end()` was called, by any party.
    pub fn ended(&self) -> Result<bool> {
        self.handle
            .with(|map| Ok(map.load_i32(self.offset + STATE)? & ENDED != 0))
    }

    fn check_size(&self, message: &[u8]) -> Result<()> {
        if message.len() > self.max_message() {
            return Err(Error::TooLarge(format!(
                "A message of {} bytes is larger than this channel's maxMessage ({} bytes)",
                message.len(),
                self.max_message()
            )));
        }
        Ok(())
    }

    /// Runs `f` holding `side`'s lock, taken before `deadline`.
    fn locked<T>(
        &self,
        side: Side,
        deadline: Option<Instant>,
        f: impl FnOnce(&Self) -> Result<T>,
    ) -> Result<T> {
        let who = me();
        let waiter = Waiter::plain(who);
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match self
            .handle
            .mutex_lock_as(&waiter, self.offset + side.lock, timeout)
        {
            Err(Error::Timeout { .. }) => return Err(self.timed_out(side)),
            other => other?,
        };
        let result = f(self);
        let unlocked = self.handle.mutex_unlock(self.offset + side.lock, who);
        let value = result?;
        unlocked?;
        Ok(value)
    }

    /// Runs `f` holding `side`'s lock if it is free now; `None` if it is not.
    fn try_locked<T>(&self, side: Side, f: impl FnOnce(&Self) -> Result<T>) -> Result<Option<T>> {
        let who = me();
        let waiter = Waiter::plain(who);
        if self
            .handle
            .mutex_try_lock_as(&waiter, self.offset + side.lock)?
            .is_none()
        {
            return Ok(None);
        }
        let result = f(self);
        let unlocked = self.handle.mutex_unlock(self.offset + side.lock, who);
        let value = result?;
        unlocked?;
        Ok(Some(value))
    }

    /// Tries `step` until it gives an answer: before sleeping on `side`'s sequence word it says
    /// so in `side`'s *wanted* word and tries once more (docs/channels.md, "To wait").
    fn waiting<T>(
        &self,
        side: Side,
        deadline: Option<Instant>,
        mut step: impl FnMut(&Map) -> Result<Option<T>>,
    ) -> Result<T> {
        loop {
            let seq = self.handle.with(|map| {
                let seq = map.load_i32(self.offset + side.seq)?;
                if let Some(answer) = step(map)? {
                    return Ok(Err(answer));
                }
                map.store_i32(self.offset + side.wanted, 1)?;
                Ok(match step(map)? {
                    Some(answer) => Err(answer),
                    None => Ok(seq),
                })
            })?;
            let seq = match seq {
                Err(answer) => return Ok(answer),
                Ok(seq) => seq,
            };
            let slice = match deadline {
                None => SLICE,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.timed_out(side));
                    }
                    left.min(SLICE)
                }
            };
            match self.handle.wait(self.offset + side.seq, seq, Some(slice))? {
                WaitResult::Ok | WaitResult::NotEqual | WaitResult::TimedOut => {}
            }
        }
    }

    fn timed_out(&self, side: Side) -> Error {
        Error::Timeout {
            offset: self.offset,
            what: side.what,
        }
    }

    /// Bytes queued between `head` and `tail`; scribbled positions are [`Error::ChannelCorrupt`].
    fn used(&self, head: i32, tail: i32) -> Result<usize> {
        let span = 2 * self.ring;
        let (head, tail) = (head as usize, tail as usize);
        if head >= span || tail >= span || !head.is_multiple_of(8) || !tail.is_multiple_of(8) {
            return Err(Error::ChannelCorrupt(format!("head {head}, tail {tail}")));
        }
        let used = if tail >= head {
            tail - head
        } else {
            tail + span - head
        };
        if used > self.ring {
            return Err(Error::ChannelCorrupt(format!(
                "{used} bytes queued in a ring of {}",
                self.ring
            )));
        }
        Ok(used)
    }

    fn advance(&self, position: usize, by: usize) -> i32 {
        let next = position + by;
        (if next >= 2 * self.ring {
            next - 2 * self.ring
        } else {
            next
        }) as i32
    }

    /// The ring offset of `position`, as a mapping offset.
    fn at(&self, position: usize) -> usize {
        self.offset
            + HEADER
            + if position >= self.ring {
                position - self.ring
            } else {
                position
            }
    }

    /// With the send lock held: writes the record past the tail and moves the tail over it, or
    /// `None` when it does not fit now.
    fn put(&self, map: &Map, message: &[u8]) -> Result<Option<()>> {
        let o = self.offset;
        if map.load_i32(o + STATE)? & ENDED != 0 {
            return Err(Error::ChannelEnded { offset: o });
        }
        let tail = map.load_i32(o + TAIL)?;
        let used = self.used(map.load_i32(o + HEAD)?, tail)?;
        let size = RECORD_HEADER + ceil8(message.len());
        if self.ring - used < size {
            return Ok(None);
        }
        let tail = tail as usize;
        let at = self.at(tail);
        let mut header = [0u8; RECORD_HEADER];
        header[..4].copy_from_slice(&(message.len() as u32).to_le_bytes());
        header[4..].copy_from_slice(&(!(message.len() as u32)).to_le_bytes());
        let body = self.at((tail + RECORD_HEADER) % (2 * self.ring));
        let first = message.len().min(o + HEADER + self.ring - body);
        // SAFETY: each source is a live slice of the stated length; `copy_in` checks the range
        // against the mapping, and the bytes past the tail belong to the send lock's holder.
        unsafe {
            map.copy_in(at as u64, header.as_ptr(), RECORD_HEADER)?;
            map.copy_in(body as u64, message.as_ptr(), first)?;
            map.copy_in(
                (o + HEADER) as u64,
                message[first..].as_ptr(),
                message.len() - first,
            )?;
        }
        map.store_i32(o + TAIL, self.advance(tail, size))?;
        self.wake(map, RECEIVE)?;
        Ok(Some(()))
    }

    /// With the receive lock held: copies the record at the head out and moves the head past
    /// it, or `None` when there is none.
    fn take(&self, map: &Map) -> Result<Option<Vec<u8>>> {
        let o = self.offset;
        let head = map.load_i32(o + HEAD)?;
        let used = self.used(head, map.load_i32(o + TAIL)?)?;
        if used == 0 {
            return Ok(None);
        }
        let head = head as usize;
        let length = map.load_i32(self.at(head))? as u32;
        let check = map.load_i32(self.at(head) + 4)? as u32;
        let length = length as usize;
        // `length > used - 8` first: on a 32-bit usize, ceil8() of a length within 7 of 2^32
        // overflows (a panic, or a wrap to 0 that passes the size test). `used` is at least 8.
        if length as u32 ^ check != u32::MAX
            || length > used - RECORD_HEADER
            || RECORD_HEADER + ceil8(length) > used
        {
            return Err(Error::ChannelCorrupt(format!(
                "a record header of {length} bytes"
            )));
        }
        let mut message = vec![0u8; length];
        let body = self.at((head + RECORD_HEADER) % (2 * self.ring));
        let first = length.min(o + HEADER + self.ring - body);
        // SAFETY: `message` is writable for `length` bytes, of which the two copies fill the
        // first `first` and the rest; `copy_out` clamps to the mapping.
        unsafe {
            map.copy_out(body as u64, message.as_mut_ptr(), first);
            map.copy_out(
                (o + HEADER) as u64,
                message.as_mut_ptr().add(first),
                length - first,
            );
        }
        map.store_i32(o + HEAD, self.advance(head, RECORD_HEADER + ceil8(length)))?;
        self.wake(map, SEND)?;
        Ok(Some(message))
    }

    /// After a move of a position: wakes `side`'s sleeper if it said it sleeps.
    fn wake(&self, map: &Map, side: Side) -> Result<()> {
        let wanted = self.offset + side.wanted;
        if map.load_i32(wanted)? != 0 && map.rmw_i32(crate::Rmw::Exchange, wanted, 0)? != 0 {
            map.rmw_i32(crate::Rmw::Add, self.offset + side.seq, 1)?;
            crate::wait::address::wake(map.atomic_i32(self.offset + side.seq)?, u32::MAX);
        }
        Ok(())
    }
}
