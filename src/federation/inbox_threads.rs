//! The inbox's own threads, at a lower CPU priority than those that serve readers. An inbox
//! flood is thousands of signature checks and queries a second; on a small machine it would
//! otherwise take the processor from pages answered from memory. When nothing else wants the
//! processor the inbox gets all of it (a nice value only matters under contention).

use std::{future::Future, sync::OnceLock};

use tokio::{runtime::Runtime, task::JoinHandle};
use tracing::Instrument;

/// Two threads: the inbox waits on the database far more than it computes.
const THREADS: usize = 2;
/// Linux's nice value for them (0 is the default, 19 the lowest priority).
const NICENESS: libc::c_int = 10;

/// One runtime for the process, never dropped (a runtime may not be dropped inside another).
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Runs `work` on the inbox's threads, in the caller's tracing span.
pub fn spawn<F>(work: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    RUNTIME
        .get_or_init(build)
        .spawn(work.instrument(tracing::Span::current()))
}

fn build() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .thread_name("folio-inbox")
        .enable_all()
        .on_thread_start(lower_priority)
        .build()
        .expect("the inbox's threads start")
}

fn lower_priority() {
    // SAFETY: plain system calls on this thread's own id; on Linux each thread has its own
    // nice value. A failure leaves the thread at the normal priority, which is only slower
    // for readers under a flood.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICENESS);
    }
}
