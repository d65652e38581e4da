import Dispatch
import Foundation

/// Stops a run from outside: the first Ctrl-C cancels it (the running stage sees
/// `context.isCancelled`, its task is cancelled, and no further stage starts), a second one
/// exits at once.
public final class CancellationToken: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var handlers: [Int: @Sendable () -> Void] = [:]
    private var nextID = 0

    public init() {}

    public var isCancelled: Bool { lock.withLock { cancelled } }

    public func cancel() {
        let toCall: [@Sendable () -> Void] = lock.withLock {
            guard !cancelled else { return [] }
            cancelled = true
            defer { handlers = [:] }
            return Array(handlers.values)
        }
        for h in toCall { h() }
    }

    /// Calls `handler` on cancellation (at once if already cancelled) until `removeHandler`.
    func onCancel(_ handler: @escaping @Sendable () -> Void) -> Int {
        let (id, now): (Int, Bool) = lock.withLock {
            nextID += 1
            if !cancelled { handlers[nextID] = handler }
            return (nextID, cancelled)
        }
        if now { handler() }
        return id
    }

    func removeHandler(_ id: Int) {
        lock.withLock { handlers[id] = nil }
    }

    /// Cancels this token on the first SIGINT (printing `message` to stderr) and exits with
    /// status 130 on the second. Installed once per process.
    public func cancelOnInterrupt(message: String) {
        InterruptSignal.install(token: self, message: message)
    }
}

private enum InterruptSignal {
    nonisolated(unsafe) static var source: DispatchSourceSignal?
    nonisolated(unsafe) static var count = 0

    static func install(token: CancellationToken, message: String) {
        guard source == nil else { return }
        signal(SIGINT, SIG_IGN) // delivered through the dispatch source instead
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler {
            count += 1
            if count > 1 { _exit(130) }
            FileHandle.standardError.write(Data(("\n" + message + "\n").utf8))
            token.cancel()
        }
        s.resume()
        source = s
    }
}
