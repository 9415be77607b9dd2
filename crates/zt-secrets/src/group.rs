//! Group commit through one committer thread: callers hand in items and get a [`Ticket`]; the
//! committer takes everything queued, commits it in one durable batch (one fsync for all), and
//! answers each ticket with the batch's result. A ticket is waited on either by blocking the
//! calling thread ([`Ticket::wait`], the CLI) or by `.await`ing it (`zt serve`'s handlers, which
//! then never park a thread while the record becomes durable). The committer completes tickets
//! without an async runtime: a ticket is a mutex, a condition variable and a task's waker.
//!
//! A batch waits — at most [`LINGER`] — for the items callers had announced ([`Group::expect`])
//! when it was taken and have not yet handed in: `zt serve`'s exchanges and reads announce
//! their access record when they start deciding (~60 µs of signature checks), so under load one
//! fsync covers the records of the exchanges being decided as well as those already queued,
//! instead of ~2 per fsync (each sync costs CPU: the block layer, a virtio notification, waking
//! the callers). Nothing announced, nothing waited for: a lone record is written at once
//! (`docs/performance.md`, "Where the tail comes from").
//!
//! (This replaced a leader/follower group commit over [`zt_core::group::Group`], in which every
//! caller parked its own thread until a leader's fsync covered it: `zt serve` had to run each
//! exchange on tokio's blocking pool, and paid a thread hand-off and a futex wake-up per
//! request; `docs/performance.md`.)

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

fn relock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // Every critical section leaves its data whole (pushes, swaps, one `Option` set), so a
    // panic elsewhere cannot leave it half-updated.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The answer to one item: `Ok` once it is durable, else the batch's error.
pub(crate) type Answer = Result<(), String>;

#[derive(Debug, Default)]
struct SlotState {
    answer: Option<Answer>,
    /// Set with the first answer: later ones (a completer's drop) are ignored.
    answered: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    answered: Condvar,
}

impl Slot {
    fn answer(&self, answer: Answer) {
        let waker = {
            let mut s = relock(&self.state);
            if s.answered {
                return;
            }
            s.answered = true;
            s.answer = Some(answer);
            s.waker.take()
        };
        self.answered.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The committer's side of a ticket. Dropped unanswered (a committer that panicked, or a
/// batch abandoned), it answers with an error: a waiter never hangs and never hears `Ok` for
/// an item that was not committed.
#[derive(Debug)]
struct Completer(Arc<Slot>);

impl Drop for Completer {
    fn drop(&mut self) {
        self.0.answer(Err(
            "internal: the batch holding this record ended without an answer".to_string(),
        ));
    }
}

/// The caller's side: resolves once the committer answered for its item.
#[derive(Debug)]
pub(crate) struct Ticket(Arc<Slot>);

impl Ticket {
    /// Blocks the calling thread until the item is answered.
    pub(crate) fn wait(self) -> Answer {
        let mut s = relock(&self.0.state);
        loop {
            if let Some(a) = s.answer.take() {
                return a;
            }
            s = self
                .0
                .answered
                .wait(s)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Future for Ticket {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        let mut s = relock(&self.0.state);
        if let Some(a) = s.answer.take() {
            return Poll::Ready(a);
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The longest a batch waits for announced items ([`Group::expect`]) before it is committed.
pub(crate) const LINGER: std::time::Duration = std::time::Duration::from_micros(500);

impl<T> Queue<T> {
    /// Settles one announced item; whether that reached what a lingering committer waits for.
    fn settle(&mut self) -> bool {
        self.settled = (self.settled + 1).min(self.announced);
        self.lingering.is_some_and(|t| self.settled >= t)
    }
}

#[derive(Debug)]
struct Queue<T> {
    items: Vec<(T, Completer)>,
    /// The committer is asleep waiting for items (only then does a submit wake it).
    idle: bool,
    /// Items announced so far ([`Group::expect`]).
    announced: u64,
    /// Announced items handed in or given up so far.
    settled: u64,
    /// While the committer holds a batch back: the count of settled items it waits for (the
    /// settlement that reaches it wakes the committer).
    lingering: Option<u64>,
    closing: bool,
}

/// Items of type `T` waiting for the committer thread ([`Group::run`]).
#[derive(Debug)]
pub(crate) struct Group<T> {
    queue: Mutex<Queue<T>>,
    wake: Condvar,
    linger: std::time::Duration,
}

impl<T> Group<T> {
    pub(crate) fn new() -> Self {
        Self::with_linger(LINGER)
    }

    /// A group whose batches wait at most `linger` for announced items.
    pub(crate) fn with_linger(linger: std::time::Duration) -> Self {
        Group {
            queue: Mutex::new(Queue {
                items: Vec::new(),
                idle: false,
                announced: 0,
                settled: 0,
                lingering: None,
                closing: false,
            }),
            wake: Condvar::new(),
            linger,
        }
    }

    /// Announces an item that will be handed in soon ([`Group::submit_expected`]) or given up
    /// ([`Group::unexpect`]): until then a batch may wait for it, at most the linger.
    pub(crate) fn expect(&self) {
        relock(&self.queue).announced += 1;
    }

    /// Gives up an announced item (its caller stopped before it had one to hand in).
    pub(crate) fn unexpect(&self) {
        let wake = {
            let mut q = relock(&self.queue);
            q.settle()
        };
        if wake {
            self.wake.notify_one();
        }
    }

    /// Queues `item` for the next batch. `Err` once the group is closing.
    pub(crate) fn submit(&self, item: T) -> Result<Ticket, String> {
        self.push(item, false)
    }

    /// [`Group::submit`] for an item announced with [`Group::expect`].
    pub(crate) fn submit_expected(&self, item: T) -> Result<Ticket, String> {
        self.push(item, true)
    }

    fn push(&self, item: T, announced: bool) -> Result<Ticket, String> {
        let slot = Arc::new(Slot::default());
        let wake = {
            let mut q = relock(&self.queue);
            let reached = announced && q.settle();
            if q.closing {
                return Err("the access log is closing".to_string());
            }
            q.items.push((item, Completer(slot.clone())));
            // A committer busy with a batch takes this item with the next one, unwoken; one
            // holding a batch back is woken by the last item it waits for.
            std::mem::replace(&mut q.idle, false) || reached
        };
        if wake {
            self.wake.notify_one();
        }
        Ok(Ticket(slot))
    }

    /// The committer's loop: takes every queued item, runs `commit` on them (in submission
    /// order), answers each with its result; returns once [`Group::close`] was called and the
    /// queue is empty. Run it on one thread per group.
    pub(crate) fn run(&self, mut commit: impl FnMut(Vec<T>) -> Answer) {
        // However the loop ends — closed, or a panic in `commit` unwinding out of it — nobody
        // is left waiting: the group refuses new items and answers those queued with an error.
        let _stopped = Stopped(self);
        loop {
            let batch = {
                let mut q = relock(&self.queue);
                while q.items.is_empty() {
                    if q.closing {
                        return;
                    }
                    q.idle = true;
                    q = self
                        .wake
                        .wait(q)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                q.idle = false;
                // Wait — at most the linger — for the items announced by now, not for those
                // announced while waiting: under load there always are some, and a batch that
                // waited for them would hold every caller back by the whole linger.
                let target = q.announced;
                if q.settled < target && !q.closing {
                    let until = std::time::Instant::now() + self.linger;
                    q.lingering = Some(target);
                    while q.settled < target && !q.closing {
                        let left = until.saturating_duration_since(std::time::Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        q = self
                            .wake
                            .wait_timeout(q, left)
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .0;
                    }
                    q.lingering = None;
                }
                std::mem::take(&mut q.items)
            };
            let (items, completers): (Vec<T>, Vec<Completer>) = batch.into_iter().unzip();
            let answer = commit(items);
            for c in &completers {
                c.0.answer(answer.clone());
            }
        }
    }

    /// Whether the committer is holding a batch back now.
    #[cfg(test)]
    fn is_lingering(&self) -> bool {
        relock(&self.queue).lingering.is_some()
    }

    /// Refuses new items; [`Group::run`] returns once it has committed those already queued.
    /// (A committer that stopped on a panic closes the group the same way.)
    pub(crate) fn close(&self) {
        relock(&self.queue).closing = true;
        self.wake.notify_all();
    }
}

/// Closes its group when the committer's loop ends, by return or by unwinding.
struct Stopped<'a, T>(&'a Group<T>);

impl<T> Drop for Stopped<'_, T> {
    fn drop(&mut self) {
        let left = {
            let mut q = relock(&self.0.queue);
            q.closing = true;
            std::mem::take(&mut q.items)
        };
        // each dropped completer answers its ticket with an error
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committer<T: Send + 'static>(
        g: &Arc<Group<T>>,
        mut commit: impl FnMut(Vec<T>) -> Answer + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let g = g.clone();
        std::thread::spawn(move || g.run(&mut commit))
    }

    #[test]
    fn every_item_is_committed_once_across_threads() {
        let g = Arc::new(Group::new());
        let sink = Arc::new(Mutex::new(Vec::<u32>::new()));
        let worker = {
            let sink = sink.clone();
            committer(&g, move |items| {
                std::thread::sleep(std::time::Duration::from_micros(50));
                sink.lock().unwrap().extend(items);
                Ok(())
            })
        };
        let handles: Vec<_> = (0..32)
            .map(|t| {
                let g = g.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        g.submit(t * 1000 + i).unwrap().wait().unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        g.close();
        worker.join().unwrap();
        let mut all = sink.lock().unwrap().clone();
        all.sort_unstable();
        let mut want: Vec<u32> = (0..32)
            .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
            .collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }

    #[test]
    fn a_failed_batch_fails_its_callers() {
        let g = Arc::new(Group::new());
        let worker = committer(&g, |items: Vec<u32>| {
            if items.contains(&1) {
                Err("disk full".to_string())
            } else {
                Ok(())
            }
        });
        assert_eq!(g.submit(1).unwrap().wait().unwrap_err(), "disk full");
        g.submit(2).unwrap().wait().unwrap();
        g.close();
        worker.join().unwrap();
    }

    /// A ticket is answered only after its batch's commit returned: the committer is held
    /// inside `commit` until the test lets it go, and the ticket must stay pending until then.
    #[test]
    fn a_ticket_resolves_only_after_its_commit() {
        let g = Arc::new(Group::new());
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let worker = committer(&g, move |_: Vec<u32>| {
            entered_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        });
        let mut ticket = Box::pin(g.submit(7).unwrap());
        entered.recv().unwrap();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(ticket.as_mut().poll(&mut cx).is_pending());
        release.send(()).unwrap();
        g.close();
        worker.join().unwrap();
        assert_eq!(ticket.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    }

    #[test]
    fn items_queued_before_close_are_committed_and_later_ones_refused() {
        let g = Arc::new(Group::new());
        let t = g.submit(1u32).unwrap();
        g.close();
        assert!(g.submit(2).is_err());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        committer(&g, move |items| {
            s.lock().unwrap().extend(items);
            Ok(())
        })
        .join()
        .unwrap();
        t.wait().unwrap();
        assert_eq!(*seen.lock().unwrap(), [1]);
    }

    #[test]
    fn a_dropped_completer_answers_with_an_error() {
        let g = Arc::new(Group::<u32>::new());
        let t = g.submit(1).unwrap();
        drop(g);
        assert!(t.wait().unwrap_err().contains("without an answer"));
    }

    /// A committer that panics answers its batch with an error, and later items are refused at
    /// once instead of waiting for a committer that is gone.
    #[test]
    fn a_committer_that_panics_leaves_nobody_waiting() {
        let g = Arc::new(Group::<u32>::new());
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let worker = committer(&g, move |_items| {
            let _ = entered_tx.send(());
            let _ = go_rx.recv();
            panic!("the disk driver fell over");
        });
        let first = g.submit(1).unwrap();
        entered_rx.recv().unwrap();
        // queued while the committer is inside the batch that will panic
        let queued = g.submit(2).unwrap();
        go_tx.send(()).unwrap();
        assert!(worker.join().is_err(), "the committer panicked");
        assert!(first.wait().is_err());
        assert!(queued.wait().is_err());
        assert!(
            g.submit(3).is_err(),
            "a group without a committer takes nothing"
        );
    }

    /// Each batch a [`recording`] committer was given.
    type Batches = Arc<Mutex<Vec<Vec<u32>>>>;

    /// Runs a committer over `g` that keeps each batch it is given.
    fn recording(g: &Arc<Group<u32>>) -> (Batches, std::thread::JoinHandle<()>) {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let b = batches.clone();
        let worker = committer(g, move |items| {
            b.lock().unwrap().push(items);
            Ok(())
        });
        (batches, worker)
    }

    const LONG: std::time::Duration = std::time::Duration::from_secs(60);

    #[test]
    fn a_batch_waits_for_an_announced_item_and_takes_it_along() {
        let g = Arc::new(Group::with_linger(LONG));
        let (batches, worker) = recording(&g);
        let start = std::time::Instant::now();
        g.expect();
        let mut first = Box::pin(g.submit(1).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(
            first.as_mut().poll(&mut cx).is_pending(),
            "the batch is held for the announced item"
        );
        let second = g.submit_expected(2).unwrap();
        second.wait().unwrap();
        assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        assert!(
            start.elapsed() < LONG / 2,
            "woken by the item, not the linger"
        );
        g.close();
        worker.join().unwrap();
        assert_eq!(*batches.lock().unwrap(), [vec![1, 2]]);
    }

    #[test]
    fn an_item_announced_while_a_batch_waits_is_not_waited_for() {
        let g = Arc::new(Group::with_linger(LONG));
        let (batches, worker) = recording(&g);
        let start = std::time::Instant::now();
        g.expect(); // A, being decided when the batch is taken
        let first = g.submit(1).unwrap();
        while !g.is_lingering() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        g.expect(); // B, announced while the batch waits
        let a = g.submit_expected(2).unwrap();
        first.wait().unwrap();
        a.wait().unwrap();
        assert!(start.elapsed() < LONG / 2, "B was not waited for");
        let b = g.submit_expected(3).unwrap();
        b.wait().unwrap();
        g.close();
        worker.join().unwrap();
        assert_eq!(*batches.lock().unwrap(), [vec![1, 2], vec![3]]);
    }

    #[test]
    fn an_item_given_up_ends_the_wait() {
        let g = Arc::new(Group::with_linger(LONG));
        let (batches, worker) = recording(&g);
        let start = std::time::Instant::now();
        g.expect();
        let t = g.submit(1).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        g.unexpect();
        t.wait().unwrap();
        assert!(start.elapsed() < LONG / 2);
        g.close();
        worker.join().unwrap();
        assert_eq!(*batches.lock().unwrap(), [vec![1]]);
    }

    #[test]
    fn nothing_announced_means_no_wait() {
        let g = Arc::new(Group::with_linger(LONG));
        let (_batches, worker) = recording(&g);
        let start = std::time::Instant::now();
        for i in 0..3 {
            g.submit(i).unwrap().wait().unwrap();
        }
        assert!(start.elapsed() < LONG / 2, "a lone item is written at once");
        g.close();
        worker.join().unwrap();
    }

    #[test]
    fn the_wait_is_bounded_by_the_linger_and_by_closing() {
        let linger = std::time::Duration::from_millis(100);
        let g = Arc::new(Group::with_linger(linger));
        let (batches, worker) = recording(&g);
        // announced and never handed in (a caller that leaked its announcement)
        g.expect();
        let start = std::time::Instant::now();
        g.submit(1).unwrap().wait().unwrap();
        let took = start.elapsed();
        assert!(took >= linger && took < LONG / 2, "{took:?}");
        g.close();
        worker.join().unwrap();
        assert_eq!(*batches.lock().unwrap(), [vec![1]]);

        let g = Arc::new(Group::with_linger(LONG));
        let (batches, worker) = recording(&g);
        g.expect();
        let t = g.submit(7).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let start = std::time::Instant::now();
        g.close();
        t.wait().unwrap();
        worker.join().unwrap();
        assert!(start.elapsed() < LONG / 2, "closing ends the wait");
        assert_eq!(*batches.lock().unwrap(), [vec![7]]);
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Announce, decide for this many µs, hand in.
        Announced(u16),
        /// Announce, decide for this many µs, give up.
        GivenUp(u16),
        /// Hand in without announcing.
        Plain,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            (0u16..300).prop_map(Step::Announced),
            (0u16..300).prop_map(Step::GivenUp),
            Just(Step::Plain),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Callers on several threads announcing, handing in and giving up in any order: every
        /// item handed in is committed once and answered, and nobody waits much longer than the
        /// work (no announcement is waited for beyond the linger, none forever).
        #[test]
        fn any_mix_of_announcements_commits_every_item_once(
            scripts in proptest::collection::vec(proptest::collection::vec(step(), 1..30), 1..5)
        ) {
            let linger = std::time::Duration::from_millis(2);
            let g = Arc::new(Group::with_linger(linger));
            let (batches, worker) = recording(&g);
            let start = std::time::Instant::now();
            let handles: Vec<_> = scripts
                .iter()
                .enumerate()
                .map(|(t, script)| {
                    let (g, script) = (g.clone(), script.clone());
                    std::thread::spawn(move || {
                        let mut handed = Vec::new();
                        for (i, s) in script.into_iter().enumerate() {
                            let item = u32::try_from(t * 1000 + i).unwrap();
                            match s {
                                Step::Announced(us) => {
                                    g.expect();
                                    std::thread::sleep(std::time::Duration::from_micros(us.into()));
                                    g.submit_expected(item).unwrap().wait().unwrap();
                                    handed.push(item);
                                }
                                Step::GivenUp(us) => {
                                    g.expect();
                                    std::thread::sleep(std::time::Duration::from_micros(us.into()));
                                    g.unexpect();
                                }
                                Step::Plain => {
                                    g.submit(item).unwrap().wait().unwrap();
                                    handed.push(item);
                                }
                            }
                        }
                        handed
                    })
                })
                .collect();
            let mut want: Vec<u32> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
            let steps: usize = scripts.iter().map(Vec::len).sum();
            // each item waits at most one linger and one batch of its own beyond its work
            proptest::prop_assert!(
                start.elapsed() < std::time::Duration::from_secs(2) + linger * (2 * steps as u32),
                "took {:?}", start.elapsed()
            );
            g.close();
            worker.join().unwrap();
            let mut got: Vec<u32> = batches.lock().unwrap().iter().flatten().copied().collect();
            got.sort_unstable();
            want.sort_unstable();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
