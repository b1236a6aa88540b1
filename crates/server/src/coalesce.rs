//! Group commit for concurrent requests: each request hands its item to a [`Coalescer`] and waits;
//! one driver takes everything pending, runs it as one batch (one transaction, one routing run),
//! and answers every request with its own outcome.
//!
//! A request's item always goes into a batch that starts after it was handed in, so the answer
//! follows the work done for it. Items arriving while a batch runs share the next one: under load
//! the fixed cost per batch (transaction, commit, lookups) is spread over many requests, and with
//! a single request nothing waits longer than its own batch of one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// The boxed future of one batch.
type BatchFuture<O> = Pin<Box<dyn Future<Output = Vec<O>> + Send>>;

/// Runs one batch: takes the items in arrival order, returns one outcome per item in that order.
type RunBatch<I, O> = dyn Fn(Vec<I>) -> BatchFuture<O> + Send + Sync;

/// Hands concurrent requests' items to one driver that runs them in batches; cheap to clone.
pub struct Coalescer<I, O> {
    inner: Arc<Inner<I, O>>,
}

impl<I, O> Clone for Coalescer<I, O> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<I, O> std::fmt::Debug for Coalescer<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer").field("max_batch", &self.inner.max_batch).finish_non_exhaustive()
    }
}

struct Inner<I, O> {
    pending: Mutex<Pending<I, O>>,
    run: Box<RunBatch<I, O>>,
    max_batch: usize,
}

/// Items waiting for the next batch, each with the channel its request waits on.
struct Pending<I, O> {
    items: Vec<(I, oneshot::Sender<O>)>,
    driving: bool,
}

/// Restarts the driver if a batch panics: the panicking batch's requests get no answer (their
/// channels close), but items that arrived meanwhile are not left waiting for a driver that is gone.
struct PanicGuard<I: Send + 'static, O: Send + 'static>(Arc<Inner<I, O>>);

impl<I: Send + 'static, O: Send + 'static> Drop for PanicGuard<I, O> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let restart = {
                let mut p = self.0.pending.lock().unwrap_or_else(PoisonError::into_inner);
                p.driving = !p.items.is_empty();
                p.driving
            };
            if restart {
                tokio::spawn(drive(self.0.clone()));
            }
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> Coalescer<I, O> {
    /// A coalescer running batches of at most `max_batch` items with `run`, which must return one
    /// outcome per item, in order.
    pub fn new<F, Fut>(max_batch: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let run: Box<RunBatch<I, O>> = Box::new(move |items| Box::pin(run(items)));
        Self {
            inner: Arc::new(Inner {
                pending: Mutex::new(Pending { items: Vec::new(), driving: false }),
                run,
                max_batch: max_batch.max(1),
            }),
        }
    }

    /// Hands `item` in and waits for its outcome; `None` only when its batch panicked or returned
    /// fewer outcomes than items.
    pub async fn submit(&self, item: I) -> Option<O> {
        let (answer, outcome) = oneshot::channel();
        let start_driver = {
            let mut p = self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner);
            p.items.push((item, answer));
            !std::mem::replace(&mut p.driving, true)
        };
        if start_driver {
            // In a task of its own: a request whose client goes away must not stop the batches
            // other requests wait for.
            tokio::spawn(drive(self.inner.clone()));
        }
        outcome.await.ok()
    }
}

/// Runs batches over whatever is pending until nothing is.
async fn drive<I: Send + 'static, O: Send + 'static>(inner: Arc<Inner<I, O>>) {
    let _guard = PanicGuard(inner.clone());
    loop {
        let batch = {
            let mut p = inner.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if p.items.is_empty() {
                p.driving = false;
                return;
            }
            let take = p.items.len().min(inner.max_batch);
            p.items.drain(..take).collect::<Vec<_>>()
        };
        let (items, answers): (Vec<I>, Vec<oneshot::Sender<O>>) = batch.into_iter().unzip();
        let outcomes = (inner.run)(items).await;
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            // The request may have gone away; its item was still handled.
            let _ = answer.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_request_gets_its_own_outcome_and_concurrent_ones_share_batches() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let doubler = Coalescer::new(64, move |items: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                items.into_iter().map(|i| i * 2).collect()
            }
        });
        let handles: Vec<_> = (0..200u32)
            .map(|i| {
                let c = doubler.clone();
                tokio::spawn(async move { (i, c.submit(i).await) })
            })
            .collect();
        for h in handles {
            let (i, out) = h.await.unwrap();
            assert_eq!(out, Some(i * 2));
        }
        let n = batches.load(Ordering::SeqCst);
        assert!(n < 200, "200 concurrent requests ran in {n} batches: nothing was shared");
        assert!(n >= 200 / 64, "a batch took more than max_batch items ({n} batches)");
    }

    #[tokio::test]
    async fn a_batch_that_answers_short_leaves_the_rest_without_an_outcome() {
        let short = Coalescer::new(8, |_items: Vec<u8>| async { Vec::<u8>::new() });
        assert_eq!(short.submit(1).await, None);
        // The driver stopped cleanly: the next request starts a new one.
        assert_eq!(short.submit(2).await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_batch_does_not_strand_later_requests() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let flaky = Coalescer::new(1, move |items: Vec<u8>| {
            let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    panic!("first batch fails");
                }
                items
            }
        });
        let first = tokio::spawn({
            let f = flaky.clone();
            async move { f.submit(1).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        // Arrives while the first batch runs, so it waits for the driver that panics.
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), flaky.submit(2)).await;
        assert_eq!(first.await.unwrap(), None);
        assert_eq!(second.expect("the second request was stranded"), Some(2));
    }
}
