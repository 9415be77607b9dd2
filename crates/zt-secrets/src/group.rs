//! Group commit into a sink: many threads hand in items, one of them (the leader) writes
//! everything pending in one durable batch while the others wait, so concurrent requests share
//! one fsync. Each caller returns only once its own item is durable (or with the batch's
//! error). The batching is [`zt_core::group::Group`]'s; this adds the sink it writes to.

use std::sync::{Mutex, MutexGuard};

/// A sink `S` (a file, a ledger) written in batches of `T`.
#[derive(Debug)]
pub(crate) struct Group<S, T> {
    batches: zt_core::group::Group<T, Result<(), String>>,
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
            // No bound: a leader's batch always holds its own item, so `commit` runs once.
            batches: zt_core::group::Group::new(usize::MAX),
            sink: Mutex::new(sink),
        }
    }

    /// Submits `item` and returns once a batch holding it was committed by `commit` (this
    /// caller's, or another's while this one waited).
    pub(crate) fn submit<R>(
        &self,
        item: T,
        commit: impl FnOnce(&mut S, Vec<T>) -> Result<R, String>,
    ) -> Result<(), String> {
        let mut commit = Some(commit);
        self.batches.submit(
            item,
            |items| {
                let n = items.len();
                let result = match commit.take() {
                    Some(f) => f(&mut relock(&self.sink), items).map(|_| ()),
                    None => Err("internal: commit ran twice".to_string()),
                };
                vec![result; n]
            },
            || Err("internal: the batch holding this item ended without an answer".to_string()),
        )
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
