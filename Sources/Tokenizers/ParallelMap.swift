import Dispatch
import Foundation

/// Maps `items` through `transform` on `threads` workers, keeping order. The first error (in
/// item order) is rethrown after all workers finish.
public func parallelMap<T: Sendable, R>(_ items: [T], threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                                        _ transform: @Sendable (T) throws -> R) throws -> [R] {
    if items.count < 2 || threads < 2 { return try items.map(transform) }
    let workers = Swift.min(threads, items.count)
    let slots = ResultSlots<R>(count: items.count)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        var i = w
        while i < items.count {
            slots.set(i, Result { try transform(items[i]) })
            i += workers
        }
    }
    return try slots.values()
}

/// Write-once slots filled from concurrent workers; each index is written by one worker only.
/// The storage is a raw buffer allocated up front, so workers never touch a shared Swift
/// array (whose exclusivity checks and copy-on-write are not safe across threads).
final class ResultSlots<T>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Result<T, Error>?>
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ i: Int, _ r: Result<T, Error>) { slots[i] = r }
    func values() throws -> [T] { try slots.map { try $0!.get() } }
}
