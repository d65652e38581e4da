import Foundation

/// Runs one async job per item with at most `maxInFlight` at once, reporting progress as
/// each finishes and keeping results in item order. A failed item is recorded, not fatal:
/// the others finish (and are cached), and the caller reports the failures at the end.
public enum ConcurrentRunner {
    public typealias Progress = @Sendable (_ done: Int, _ total: Int) -> Void

    public static func run<Item: Sendable, Output: Sendable>(
        _ items: [Item], maxInFlight: Int, progress: Progress? = nil,
        _ job: @escaping @Sendable (Item) async throws -> Output
    ) async -> [Result<Output, Error>] {
        var results = [Result<Output, Error>?](repeating: nil, count: items.count)
        await withTaskGroup(of: (Int, Result<Output, Error>).self) { group in
            var next = 0, done = 0
            func launch() {
                let i = next, item = items[i]
                next += 1
                group.addTask {
                    do { return (i, .success(try await job(item))) } catch { return (i, .failure(error)) }
                }
            }
            while next < min(items.count, max(1, maxInFlight)) { launch() }
            while let (i, r) = await group.next() {
                results[i] = r
                done += 1
                progress?(done, items.count)
                if next < items.count { launch() }
            }
        }
        return results.map { $0! }
    }

    /// The successes in order, and an error counting the failures when there were any: the
    /// caller writes the successes first, then throws it.
    public static func partition<Output>(_ results: [Result<Output, Error>], pipeline: String) -> (ok: [Output], failure: PipelineError?) {
        var ok: [Output] = []
        var failures: [Error] = []
        for r in results {
            switch r {
            case let .success(o): ok.append(o)
            case let .failure(e): failures.append(e)
            }
        }
        let failure = failures.first.map {
            PipelineError.failed(pipeline: pipeline, failures: failures.count, total: results.count, first: $0.localizedDescription)
        }
        return (ok, failure)
    }
}
