import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Process {
    /// Starts the process with no signals blocked. Foundation's `Process` hands the calling
    /// thread's signal mask to the child, and the threads async code runs on block most
    /// signals (SIGINT and SIGTERM among them), so a child started from a stage would ignore
    /// Ctrl-C, `interrupt()` and `terminate()`. This starts it from a fresh thread that
    /// unblocks every signal first.
    public func runWithSignalsUnblocked() throws {
        final class Outcome: @unchecked Sendable { var error: Error? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let process = UncheckedProcess(process: self)
        let thread = Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try process.process.run() } catch { outcome.error = error }
            done.signal()
        }
        thread.start()
        done.wait()
        if let error = outcome.error { throw error }
    }
}

/// Carries a Process to the spawning thread; it is used there alone while the caller waits.
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
}
