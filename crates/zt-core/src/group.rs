//! Group commit: concurrent callers hand their items to one of them (the leader), which runs
//! one batch for all while the others wait — one fsync, one store round trip, one signed
//! checkpoint for many requests. zt's transparency log, the secrets broker's access log and
//! the evidence hub's store writes all commit this way.
//!
//! An item never joins a batch already running: a batch is taken from the waiting items only
//! when no batch is running, so whatever a batch reads was read after each of its items
//! arrived, and whatever it writes is acknowledged to each only once the batch is done.
//!
//! **Wake-ups.** Each waiting item carries its caller's thread. A finished batch wakes exactly
//! the callers it answered, and the first caller still waiting, so that it leads the next
//! batch. (With a condition variable every batch woke every waiter: 64 concurrent log writers
//! spent about a third of their CPU in futex wake-ups and context switches, and most of those
//! woke only to sleep again; `docs/performance.md`.)

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Duration;

/// Items waiting for the next batch, and the answers of finished ones.
struct Queue<T, R> {
    pending: Vec<(u64, T, Thread)>,
    next_ticket: u64,
    running: bool,
    done: HashMap<u64, R>,
}

/// Batches of `T`, each item answered with an `R`.
pub struct Group<T, R> {
    queue: Mutex<Queue<T, R>>,
    max: usize,
    delay: Duration,
}

impl<T, R> std::fmt::Debug for Group<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("max", &self.max)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl<T, R> Group<T, R> {
    /// A group whose batches take at most `max` items.
    pub fn new(max: usize) -> Self {
        Self::with_delay(max, Duration::ZERO)
    }

    /// A group whose batches take at most `max` items, and whose leader first waits `delay`
    /// for others to join (more items per batch, at the cost of latency).
    pub fn with_delay(max: usize, delay: Duration) -> Self {
        Self {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                next_ticket: 0,
                running: false,
                done: HashMap::new(),
            }),
            max: max.max(1),
            delay,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T, R>> {
        // Every critical section leaves the queue whole (pushes, drains, inserts), so a panic
        // elsewhere cannot leave it half-updated.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `item`'s answer: from a batch another caller runs, or from `run` over every item
    /// waiting (this one among them, up to `max`). `run` answers each item of its batch, in
    /// order; an answer it leaves out, or every answer of a batch that panicked, is
    /// `missing`'s. `run` may be called more than once when more than `max` items wait, and
    /// not at all when another caller's batch answers this item.
    pub fn submit(
        &self,
        item: T,
        mut run: impl FnMut(Vec<T>) -> Vec<R>,
        missing: impl Fn() -> R,
    ) -> R {
        let mut q = self.lock();
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.pending.push((ticket, item, std::thread::current()));
        loop {
            if let Some(answer) = q.done.remove(&ticket) {
                return answer;
            }
            if q.running {
                // Woken when this item is answered or first in line; a spurious wake-up goes
                // round the loop again.
                drop(q);
                std::thread::park();
                q = self.lock();
                continue;
            }
            q.running = true;
            if !self.delay.is_zero() {
                drop(q);
                std::thread::sleep(self.delay);
                q = self.lock();
            }
            let take = q.pending.len().min(self.max);
            let batch: Vec<(u64, T, Thread)> = q.pending.drain(..take).collect();
            drop(q);
            let mut callers = Vec::with_capacity(batch.len());
            let mut items = Vec::with_capacity(batch.len());
            for (t, item, thread) in batch {
                callers.push((t, thread));
                items.push(item);
            }
            // A panic in `run` must not leave the others waiting for a batch that never ends.
            let answers = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(items)));
            let mut answers = match answers {
                Ok(a) => a.into_iter(),
                Err(_) => Vec::new().into_iter(),
            };
            q = self.lock();
            let mut mine = None;
            let mut wake = Vec::with_capacity(callers.len());
            for (t, thread) in callers {
                let answer = answers.next().unwrap_or_else(&missing);
                if t == ticket {
                    mine = Some(answer);
                } else {
                    q.done.insert(t, answer);
                    wake.push(thread);
                }
            }
            q.running = false;
            wake.extend(q.pending.first().map(|(_, _, thread)| thread.clone()));
            drop(q);
            for thread in wake {
                thread.unpark();
            }
            if let Some(answer) = mine {
                return answer;
            }
            // More than `max` were waiting and this item was not in the batch: the next one.
            q = self.lock();
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
        // Four times as many callers as a batch takes: most wait through several batches.
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
                                    std::thread::sleep(Duration::from_micros(200));
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
    fn a_delay_gathers_callers_into_fewer_batches() {
        let group = Arc::new(Group::<u32, u32>::with_delay(
            usize::MAX,
            Duration::from_millis(100),
        ));
        let batches = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8u32)
            .map(|i| {
                let (group, batches) = (group.clone(), batches.clone());
                std::thread::spawn(move || {
                    group.submit(
                        i,
                        |items| {
                            batches.fetch_add(1, Ordering::Relaxed);
                            items
                        },
                        || u32::MAX,
                    )
                })
            })
            .collect();
        let mut answers: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        answers.sort_unstable();
        assert_eq!(answers, (0..8).collect::<Vec<_>>());
        assert!(batches.load(Ordering::Relaxed) < 8);
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
