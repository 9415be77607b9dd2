//! Group commit for the hub's store round trips: concurrent callers hand their items to one
//! of them, which sends one batch for all while the others wait (as [`zt_tlog::Log::append`]
//! commits concurrent appends together).
//!
//! An item never joins a batch already sent: a batch is taken from the waiting items only
//! when no batch is running, so whatever a batch reads was read after each of its items
//! arrived, and whatever it writes is acknowledged to each only once the batch is done.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Items waiting for the next batch, and the results of finished ones.
struct Queue<T, R> {
    pending: Vec<(u64, T)>,
    next_ticket: u64,
    running: bool,
    done: HashMap<u64, R>,
}

/// Batches of `T`, each item answered with an `R`.
pub(crate) struct Group<T, R> {
    queue: Mutex<Queue<T, R>>,
    wake: Condvar,
    max: usize,
}

impl<T, R> Group<T, R> {
    /// A group whose batches take at most `max` items.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                next_ticket: 0,
                running: false,
                done: HashMap::new(),
            }),
            wake: Condvar::new(),
            max: max.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T, R>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `item`'s result: from a batch another caller runs, or from `run` over every item
    /// waiting (this one among them, up to `max`). `run` answers each item of its batch, in
    /// order (an answer it leaves out is `missing`'s).
    pub(crate) fn submit(
        &self,
        item: T,
        mut run: impl FnMut(Vec<T>) -> Vec<R>,
        missing: impl Fn() -> R,
    ) -> R {
        let mut q = self.lock();
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.pending.push((ticket, item));
        loop {
            if let Some(result) = q.done.remove(&ticket) {
                return result;
            }
            if q.running {
                q = self
                    .wake
                    .wait(q)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            q.running = true;
            let take = q.pending.len().min(self.max);
            let (tickets, items): (Vec<u64>, Vec<T>) = q.pending.drain(..take).unzip();
            drop(q);
            // A panic in `run` must not leave the others waiting for a batch that never ends.
            let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(items)));
            q = self.lock();
            let mut results = match results {
                Ok(r) => r.into_iter(),
                Err(_) => Vec::new().into_iter(),
            };
            let mut mine = None;
            for t in tickets {
                let r = results.next().unwrap_or_else(&missing);
                if t == ticket {
                    mine = Some(r);
                } else {
                    q.done.insert(t, r);
                }
            }
            q.running = false;
            self.wake.notify_all();
            if let Some(r) = mine {
                return r;
            }
            // More than `max` were waiting and this item was not in the batch: the next one.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_item_gets_its_own_answer_and_batches_form_under_contention() {
        let group = Arc::new(Group::<u64, u64>::new(8));
        let batches = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..32u64)
            .map(|i| {
                let (group, batches) = (group.clone(), batches.clone());
                std::thread::spawn(move || {
                    (0..50u64)
                        .map(|j| {
                            let item = i * 1000 + j;
                            let r = group.submit(
                                item,
                                |items| {
                                    assert!(items.len() <= 8);
                                    batches.fetch_add(1, Ordering::Relaxed);
                                    std::thread::sleep(std::time::Duration::from_micros(200));
                                    items.iter().map(|x| x * 2).collect()
                                },
                                || u64::MAX,
                            );
                            assert_eq!(r, item * 2);
                            r
                        })
                        .count()
                })
            })
            .collect();
        let answered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(answered, 32 * 50);
        // Shared batches: fewer batches than items.
        assert!(batches.load(Ordering::Relaxed) < 32 * 50);
    }

    #[test]
    fn a_short_or_panicking_batch_answers_the_rest_with_missing() {
        let group = Group::<u32, Option<u32>>::new(4);
        assert_eq!(group.submit(7, |_| Vec::new(), || None), None);
        let r = group.submit(
            7,
            |_| -> Vec<Option<u32>> { panic!("batch failed") },
            || None,
        );
        assert_eq!(r, None);
        // The group still works after a panic.
        assert_eq!(
            group.submit(3, |v| v.into_iter().map(Some).collect(), || None),
            Some(3)
        );
    }
}
