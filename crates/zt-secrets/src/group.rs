//! Group commit: many threads hand in items, one of them (the leader) writes everything
//! pending in one durable batch while the others wait, so concurrent requests share one
//! fsync. Each caller returns only once its own item is durable (or with the batch's error).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;

#[derive(Debug)]
struct Queue<T> {
    /// Waiting items, each with its caller's thread: a finished batch wakes exactly the
    /// callers it committed, and the first caller still waiting so that it leads the next
    /// batch. (A condition variable woke every waiter at every batch: 64 concurrent exchanges
    /// spent more CPU in wake-ups and context switches than in the commits.)
    pending: Vec<(u64, T, Thread)>,
    next: u64,
    /// Every ticket below this has been committed (or has failed, see `failed`).
    done_below: u64,
    committing: bool,
    failed: HashMap<u64, String>,
}

/// A sink `S` (a file, a ledger) written in batches of `T`.
#[derive(Debug)]
pub(crate) struct Group<S, T> {
    queue: Mutex<Queue<T>>,
    sink: Mutex<S>,
}

fn relock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // Every critical section leaves its data whole (pushes, swaps), so a panic elsewhere
    // cannot leave it half-updated.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S, T> Group<S, T> {
    pub(crate) fn new(sink: S) -> Self {
        Group {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                next: 0,
                done_below: 0,
                committing: false,
                failed: HashMap::new(),
            }),
            sink: Mutex::new(sink),
        }
    }

    /// Submits `item` and returns once a batch holding it was committed by `commit`. While
    /// one batch commits, later items queue up; the first of them to wake commits them all.
    /// Waiters park and are woken when their batch is done (no waiting in line on the sink's
    /// lock), or when they are first in line to lead the next one.
    pub(crate) fn submit<R>(
        &self,
        item: T,
        commit: impl FnOnce(&mut S, Vec<T>) -> Result<R, String>,
    ) -> Result<(), String> {
        let mut commit = Some(commit);
        let mut q = relock(&self.queue);
        let ticket = q.next;
        q.next += 1;
        q.pending.push((ticket, item, std::thread::current()));
        loop {
            if ticket < q.done_below {
                return match q.failed.remove(&ticket) {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
            }
            if q.committing {
                // A spurious or early wake-up goes round the loop again.
                drop(q);
                std::thread::park();
                q = relock(&self.queue);
                continue;
            }
            // Our item is pending and nobody is committing: we commit everything pending.
            q.committing = true;
            let batch = std::mem::take(&mut q.pending);
            drop(q);
            let last = batch.last().map_or(ticket, |(t, _, _)| *t);
            let mut tickets = Vec::with_capacity(batch.len());
            let mut threads = Vec::with_capacity(batch.len());
            let mut items = Vec::with_capacity(batch.len());
            for (t, item, thread) in batch {
                tickets.push(t);
                if t != ticket {
                    threads.push(thread);
                }
                items.push(item);
            }
            let result = match commit.take() {
                Some(f) => f(&mut relock(&self.sink), items).map(|_| ()),
                None => Err("internal: commit ran twice".to_string()),
            };
            q = relock(&self.queue);
            if let Err(e) = result {
                for t in tickets {
                    q.failed.insert(t, e.clone());
                }
            }
            q.done_below = last + 1;
            q.committing = false;
            let next = q.pending.first().map(|(_, _, thread)| thread.clone());
            drop(q);
            for thread in threads.into_iter().chain(next) {
                thread.unpark();
            }
            q = relock(&self.queue);
        }
    }

    /// Runs `f` on the sink with no batch in flight.
    pub(crate) fn with_sink<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut relock(&self.sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_committed_once_across_threads() {
        let g = std::sync::Arc::new(Group::new(Vec::<u32>::new()));
        // More callers than fit in one slow commit: most wait through several batches.
        let handles: Vec<_> = (0..32)
            .map(|t| {
                let g = g.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        g.submit(t * 1000 + i, |s: &mut Vec<u32>, items| {
                            std::thread::sleep(std::time::Duration::from_micros(50));
                            s.extend(items);
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let mut all = g.with_sink(|s| s.clone());
        all.sort_unstable();
        let mut want: Vec<u32> = (0..32)
            .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
            .collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }

    #[test]
    fn a_failed_batch_fails_its_callers() {
        let g = Group::new(());
        let e = g
            .submit(1, |_, _| Err::<(), _>("disk full".to_string()))
            .unwrap_err();
        assert_eq!(e, "disk full");
        g.submit(2, |_, _| Ok(())).unwrap();
    }
}
