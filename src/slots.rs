//! Bounds how many requests do work at once (`[server] threads`). A request holds a slot
//! while it runs, but not while it only waits for the writer to commit its batch: a waiting
//! request costs no CPU, and the more of them wait together, the more one commit carries
//! (group commit). `idle` gives the slot back for such a wait.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};

pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

thread_local! {
    /// The slots this thread holds one of, if any.
    static HELD: RefCell<Option<Arc<Slots>>> = const { RefCell::new(None) };
}

/// A slot held by this thread; given back when dropped.
pub struct Held(Arc<Slots>);

impl Slots {
    pub fn new(n: usize) -> Arc<Slots> {
        Arc::new(Slots {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        })
    }

    fn acquire(&self) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.freed.notify_one();
    }

    /// Waits for a slot and holds it for this thread until the `Held` is dropped.
    pub fn hold(self: &Arc<Self>) -> Held {
        self.acquire();
        HELD.with(|h| *h.borrow_mut() = Some(self.clone()));
        Held(self.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|h| h.borrow_mut().take());
        self.0.release();
    }
}

/// Runs `wait` (which only waits) with this thread's slot, if it holds one, given back, and
/// takes a slot again before returning.
pub fn idle<T>(wait: impl FnOnce() -> T) -> T {
    let held = HELD.with(|h| h.borrow().clone());
    let Some(slots) = held else {
        return wait();
    };
    slots.release();
    struct Retake(Arc<Slots>);
    impl Drop for Retake {
        fn drop(&mut self) {
            self.0.acquire();
        }
    }
    let _retake = Retake(slots);
    wait()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn a_waiting_holder_lets_another_run_and_gets_its_slot_back() {
        let slots = Slots::new(1);
        let ran = Arc::new(AtomicUsize::new(0));
        let held = slots.hold();
        let (s2, r2) = (slots.clone(), ran.clone());
        // Another thread needs the only slot: it gets it while this one is idle.
        let other = std::thread::spawn(move || {
            let _h = s2.hold();
            r2.fetch_add(1, Ordering::SeqCst);
        });
        idle(|| {
            let until = std::time::Instant::now() + Duration::from_secs(5);
            while ran.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        other.join().unwrap();
        // Back to one holder: no slot is free while `held` lives.
        assert_eq!(*slots.free.lock().unwrap(), 0);
        drop(held);
        assert_eq!(*slots.free.lock().unwrap(), 1);
        // Without a slot, idle just runs.
        assert_eq!(idle(|| 7), 7);
    }
}
