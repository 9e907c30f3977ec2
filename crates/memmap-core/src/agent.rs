//! The acquisitions a JavaScript thread has running on threads of their own, so that they can be
//! cancelled when it ends (`worker.terminate()`, or the process exiting).
//!
//! Each one is a [`Ticket`]: the waiting thread [finishes](Ticket::finish) it with what it took
//! and how to give that back; the JavaScript thread [takes](Ticket::take) the result when its
//! callback runs. [`Agent::end`] runs when the JavaScript thread's environment is torn down: it
//! stops every waiting thread (they ask [`Agent::ended`] between sleeps) and gives back what a
//! finished ticket took that nobody will take now. The ticket's lock orders the three, so an
//! acquisition is either delivered to a live thread or given back, never both and never neither.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::error::{Error, Result};

/// Gives back what an acquisition took (unlocks, releases a permit).
pub type Undo = Box<dyn FnOnce() + Send>;

/// One JavaScript thread's pending acquisitions. Clones share them.
#[derive(Clone, Default)]
pub struct Agent(Arc<Inner>);

#[derive(Default)]
struct Inner {
    ended: AtomicBool,
    tickets: Mutex<Vec<Weak<dyn Cancel>>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("ended", &self.ended())
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// Whether [`Agent::end`] ran: waiting threads stop, and start no more.
    pub fn ended(&self) -> bool {
        self.0.ended.load(SeqCst)
    }

    /// The JavaScript thread is ending: cancels every pending acquisition (giving back what a
    /// finished one took).
    pub fn end(&self) {
        self.0.ended.store(true, SeqCst);
        let tickets = std::mem::take(&mut *lock(&self.0.tickets));
        for ticket in tickets.iter().filter_map(Weak::upgrade) {
            ticket.cancel();
        }
    }

    /// A new ticket, registered for cancellation.
    pub fn ticket<T: Send + 'static>(&self) -> Arc<Ticket<T>> {
        let ticket = Arc::new(Ticket {
            state: Mutex::new(State::Waiting),
        });
        let mut tickets = lock(&self.0.tickets);
        tickets.retain(|t| t.strong_count() > 0);
        let weak: Weak<dyn Cancel> = Arc::downgrade(&(ticket.clone() as Arc<dyn Cancel>));
        tickets.push(weak);
        drop(tickets);
        if self.ended() {
            ticket.cancel();
        }
        ticket
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One pending acquisition.
pub struct Ticket<T> {
    state: Mutex<State<T>>,
}

enum State<T> {
    Waiting,
    Done(Result<T>, Option<Undo>),
    Taken,
    Cancelled,
}

impl<T> Ticket<T> {
    /// The waiting thread is done: keeps `result` for [`Ticket::take`], or, if the ticket was
    /// cancelled meanwhile, gives back what it took at once.
    pub fn finish(&self, result: Result<T>, undo: Option<Undo>) {
        let mut state = lock(&self.state);
        match *state {
            State::Waiting => *state = State::Done(result, undo),
            _ => {
                drop(state);
                if let Some(undo) = undo {
                    undo();
                }
            }
        }
    }

    /// The result, once; [`Error::Cancelled`] if the ticket was cancelled (or is still waiting,
    /// which a caller that waits for [`Ticket::finish`] never sees).
    pub fn take(&self) -> Result<T> {
        let mut state = lock(&self.state);
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(result, _) => result,
            _ => Err(Error::Cancelled),
        }
    }
}

trait Cancel: Send + Sync {
    fn cancel(&self);
}

impl<T: Send> Cancel for Ticket<T> {
    fn cancel(&self) {
        let mut state = lock(&self.state);
        match std::mem::replace(&mut *state, State::Cancelled) {
            State::Done(_, Some(undo)) => {
                drop(state);
                undo();
            }
            State::Taken => *state = State::Taken,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Agent;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::Arc;

    #[test]
    fn a_finished_ticket_is_given_back_once_when_cancelled_before_it_is_taken() {
        let agent = Agent::default();
        let given = Arc::new(AtomicU32::new(0));
        let (early, late, taken) = (agent.ticket(), agent.ticket(), agent.ticket::<u32>());
        let undo = |given: &Arc<AtomicU32>| -> Option<super::Undo> {
            let given = given.clone();
            Some(Box::new(move || {
                given.fetch_add(1, SeqCst);
            }))
        };
        early.finish(Ok(1), undo(&given));
        taken.finish(Ok(3), undo(&given));
        assert_eq!(taken.take().unwrap(), 3);
        agent.end();
        // Cancelled while done: given back; cancelled while waiting: given back on finishing.
        assert_eq!(given.load(SeqCst), 1);
        late.finish(Ok(2), undo(&given));
        assert_eq!(given.load(SeqCst), 2);
        assert!(early.take().is_err() && late.take().is_err());
        assert!(agent.ended());
        // A ticket made after the end is cancelled at once.
        let after = agent.ticket::<u32>();
        after.finish(Ok(4), undo(&given));
        assert_eq!(given.load(SeqCst), 3);
    }
}
