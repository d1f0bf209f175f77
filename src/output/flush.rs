//! A thread that hashes and writes an output's full buffers, in order, while
//! the scan goes on filling the next ones.
//!
//! Measured on a 1M-row scan to a virtio disk (docs/benchmarks.md): with the
//! writes and the final sync on the scan's own threads, a core sat idle for
//! ~10% of the run, mostly in the last `fsync`, which waited for the whole
//! 180 MB clean file. Syncing every [`SYNC_EVERY`] bytes from this thread
//! lets the disk write the file while the scan still runs.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Buffers queued for the thread beside the one being filled: enough to ride
/// out one of its syncs (10–17 ms for 16 MB on the disk measured) at the
/// writer's pace, few enough to keep memory flat (16 × 256 KB).
const BUFS_IN_FLIGHT: usize = 16;

/// A buffer coming back empty keeps at most this capacity. The writers
/// send buffers of at most 256 KB; this guards against one that does not.
const RETAIN_BYTES: usize = 512 << 10;

/// Bytes written between two syncs. The file is synced once complete
/// anyway; this only moves most of that work to while the scan runs.
pub(crate) const SYNC_EVERY: u64 = 16 << 20;

/// Where the flusher writes: a file, or in tests a writer that fails.
pub(crate) trait Durable: Write + Send + 'static {
    fn sync_data(&mut self) -> io::Result<()>;
}

impl Durable for std::fs::File {
    fn sync_data(&mut self) -> io::Result<()> {
        std::fs::File::sync_data(self)
    }
}

/// The thread's outcome: the hasher (it hashed every byte it wrote) and the
/// first error, after which it wrote nothing more.
type Outcome = (blake3::Hasher, io::Result<()>);

pub(crate) struct Flusher {
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
    thread: JoinHandle<Outcome>,
}

impl Flusher {
    pub(crate) fn start<W: Durable>(mut out: W, mut hasher: blake3::Hasher) -> io::Result<Self> {
        let (full, full_rx) = sync_channel::<Vec<u8>>(BUFS_IN_FLIGHT);
        let (empty_tx, empty) = sync_channel::<Vec<u8>>(BUFS_IN_FLIGHT + 1);
        let thread = std::thread::Builder::new()
            .name("crmguard-flush".into())
            .spawn(move || {
                let mut unsynced = 0u64;
                for mut buf in full_rx {
                    hasher.update(&buf);
                    if let Err(e) = out.write_all(&buf) {
                        return (hasher, Err(e));
                    }
                    unsynced += buf.len() as u64;
                    if unsynced >= SYNC_EVERY {
                        if let Err(e) = out.sync_data() {
                            return (hasher, Err(e));
                        }
                        unsynced = 0;
                    }
                    buf.clear();
                    buf.shrink_to(RETAIN_BYTES);
                    // Full only if the writer stopped taking buffers back.
                    let _ = empty_tx.try_send(buf);
                }
                (hasher, Ok(()))
            })?;
        Ok(Flusher {
            full,
            empty,
            thread,
        })
    }

    /// Queues `buf` (waiting while the queue is full) and returns an empty
    /// buffer to fill next. An error is the thread's: it has stopped, and
    /// [`Flusher::stop`] gives the hasher back.
    pub(crate) fn send(&self, buf: Vec<u8>) -> Result<Vec<u8>, ()> {
        let capacity = buf.capacity().min(RETAIN_BYTES);
        self.full.send(buf).map_err(|_| ())?;
        Ok(self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(capacity)))
    }

    /// Waits until every buffer sent is written (or the thread failed).
    pub(crate) fn stop(self) -> Outcome {
        drop(self.full);
        match self.thread.join() {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records what it is given, and fails once it holds `fail_after` bytes.
    #[derive(Clone, Default)]
    struct Recorder {
        data: Arc<Mutex<Vec<u8>>>,
        syncs: Arc<Mutex<Vec<usize>>>,
        fail_after: Option<usize>,
    }

    impl Write for Recorder {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let mut d = self.data.lock().unwrap();
            if self.fail_after.is_some_and(|n| d.len() + b.len() > n) {
                return Err(io::Error::other("disk full"));
            }
            d.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Durable for Recorder {
        fn sync_data(&mut self) -> io::Result<()> {
            let n = self.data.lock().unwrap().len();
            self.syncs.lock().unwrap().push(n);
            Ok(())
        }
    }

    fn pieces() -> Vec<Vec<u8>> {
        // 40 MB in uneven pieces, each byte telling where it came from.
        (0..160u32)
            .map(|i| vec![(i % 251) as u8; 200_000 + (i as usize * 1_337) % 100_000])
            .collect()
    }

    #[test]
    fn writes_every_buffer_in_order_and_hashes_what_it_wrote() {
        let rec = Recorder::default();
        let f = Flusher::start(rec.clone(), blake3::Hasher::new()).unwrap();
        let mut expected = Vec::new();
        for p in pieces() {
            expected.extend_from_slice(&p);
            let empty = f.send(p).unwrap();
            assert!(empty.is_empty());
        }
        let (hasher, result) = f.stop();
        result.unwrap();
        assert_eq!(*rec.data.lock().unwrap(), expected);
        assert_eq!(hasher.finalize(), blake3::hash(&expected));
        // Synced as it grew: once SYNC_EVERY bytes were unsynced, at the end
        // of the buffer that got there.
        let mut syncs = rec.syncs.lock().unwrap().clone();
        assert!(syncs.len() >= 2, "{syncs:?}");
        syncs.insert(0, 0);
        for w in syncs.windows(2) {
            let gap = (w[1] - w[0]) as u64;
            assert!(
                (SYNC_EVERY..SYNC_EVERY + 300_000).contains(&gap),
                "{syncs:?}"
            );
        }
        assert!(((expected.len() - syncs[syncs.len() - 1]) as u64) < SYNC_EVERY);
    }

    #[test]
    fn big_buffers_come_back_small() {
        let f = Flusher::start(Recorder::default(), blake3::Hasher::new()).unwrap();
        let mut biggest = 0;
        for _ in 0..3 * BUFS_IN_FLIGHT {
            let empty = f.send(vec![b'x'; 8 * RETAIN_BYTES]).unwrap();
            biggest = biggest.max(empty.capacity());
        }
        f.stop().1.unwrap();
        assert!(biggest <= RETAIN_BYTES, "{biggest}");
    }

    #[test]
    fn the_first_error_stops_it_and_is_reported() {
        let rec = Recorder {
            fail_after: Some(1_000_000),
            ..Recorder::default()
        };
        let f = Flusher::start(rec.clone(), blake3::Hasher::new()).unwrap();
        // Sending fails once the thread has stopped; until then buffers queue.
        let mut refused = false;
        for p in pieces() {
            if f.send(p).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "a stopped flusher still took buffers");
        let (_, result) = f.stop();
        assert_eq!(result.unwrap_err().to_string(), "disk full");
        assert!(rec.data.lock().unwrap().len() <= 1_000_000);
    }
}
