//! The core's enums as JavaScript strings: `#[napi(string_enum)]` makes `binding.d.ts` carry
//! their unions, so the facade needs no casts and an unknown value never reaches the core.

use memmap_core::{Advice, Kind, Mode, Rmw};
use napi_derive::napi;

/// `'r'`, `'r+'`, `'w+'` or `'c'`.
#[napi(string_enum)]
#[derive(Clone, Copy)]
pub enum NativeMode {
    #[napi(value = "r")]
    Read,
    #[napi(value = "r+")]
    ReadWrite,
    #[napi(value = "w+")]
    Create,
    #[napi(value = "c")]
    Private,
}

impl From<NativeMode> for Mode {
    fn from(mode: NativeMode) -> Mode {
        match mode {
            NativeMode::Read => Mode::Read,
            NativeMode::ReadWrite => Mode::ReadWrite,
            NativeMode::Create => Mode::Create,
            NativeMode::Private => Mode::Private,
        }
    }
}

impl From<Mode> for NativeMode {
    fn from(mode: Mode) -> NativeMode {
        match mode {
            Mode::Read => NativeMode::Read,
            Mode::ReadWrite => NativeMode::ReadWrite,
            Mode::Create => NativeMode::Create,
            Mode::Private => NativeMode::Private,
        }
    }
}

/// `'file'`, `'anonymous'` or `'shared'`.
#[napi(string_enum)]
#[derive(Clone, Copy)]
pub enum NativeKind {
    #[napi(value = "file")]
    File,
    #[napi(value = "anonymous")]
    Anonymous,
    #[napi(value = "shared")]
    Shared,
}

impl From<Kind> for NativeKind {
    fn from(kind: Kind) -> NativeKind {
        match kind {
            Kind::File => NativeKind::File,
            Kind::Anonymous => NativeKind::Anonymous,
            Kind::Shared => NativeKind::Shared,
        }
    }
}

/// The advice `advise()` takes.
#[napi(string_enum)]
#[derive(Clone, Copy)]
pub enum NativeAdvice {
    #[napi(value = "normal")]
    Normal,
    #[napi(value = "random")]
    Random,
    #[napi(value = "sequential")]
    Sequential,
    #[napi(value = "willneed")]
    WillNeed,
    #[napi(value = "dontneed")]
    DontNeed,
    #[napi(value = "hugepage")]
    HugePage,
    #[napi(value = "nohugepage")]
    NoHugePage,
}

impl From<NativeAdvice> for Advice {
    fn from(advice: NativeAdvice) -> Advice {
        match advice {
            NativeAdvice::Normal => Advice::Normal,
            NativeAdvice::Random => Advice::Random,
            NativeAdvice::Sequential => Advice::Sequential,
            NativeAdvice::WillNeed => Advice::WillNeed,
            NativeAdvice::DontNeed => Advice::DontNeed,
            NativeAdvice::HugePage => Advice::HugePage,
            NativeAdvice::NoHugePage => Advice::NoHugePage,
        }
    }
}

/// The 32-bit read-modify-write operations, named as `Atomics` names them.
#[napi(string_enum)]
#[derive(Clone, Copy)]
pub enum NativeRmw {
    #[napi(value = "add")]
    Add,
    #[napi(value = "sub")]
    Sub,
    #[napi(value = "and")]
    And,
    #[napi(value = "or")]
    Or,
    #[napi(value = "xor")]
    Xor,
    #[napi(value = "exchange")]
    Exchange,
}

impl From<NativeRmw> for Rmw {
    fn from(op: NativeRmw) -> Rmw {
        match op {
            NativeRmw::Add => Rmw::Add,
            NativeRmw::Sub => Rmw::Sub,
            NativeRmw::And => Rmw::And,
            NativeRmw::Or => Rmw::Or,
            NativeRmw::Xor => Rmw::Xor,
            NativeRmw::Exchange => Rmw::Exchange,
        }
    }
}
