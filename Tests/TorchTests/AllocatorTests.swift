import XCTest

@testable import Torch

/// The caching CPU allocator (shim/torch/src/kernels/allocator.cpp): freed blocks come back for tensors
/// of the same size class, the cap bounds what it holds, 0 turns it off, and reused memory
/// carries no stale values into results.
final class AllocatorTests: XCTestCase {
    override func tearDown() {
        try? Runtime.setCPUCacheLimit(bytes: Runtime.Settings.defaultCPUCacheBytes)
    }

    /// oneDNN's bf16 products allocate through raw_allocate and free through raw_deallocate,
    /// which aborts the process when the allocator has no raw deleter (it had none while small
    /// blocks were c10's). A bf16 layer forward and backward, small and cached blocks alike.
    func testBFloat16ProductsRunOnTheCachingAllocator() throws {
        try Runtime.setCPUCacheLimit(bytes: 64 << 20)
        for (rows, width) in [(4, 32), (512, 256)] {
            let x = try Tensor.randn([rows, width]).to(.bfloat16).requiresGrad(true)
            let w = try Tensor.randn([width, width]).to(.bfloat16).requiresGrad(true)
            let y = try x.linear(w)
            try y.to(.float32).sum().backward()
            let want = try x.to(.float32).linear(w.to(.float32))
            let err = zip(try y.to(.float32).toArray(Float.self), try want.toArray(Float.self)).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            XCTAssertLessThan(err, 0.05, "bf16 product within bf16's rounding")
            XCTAssertEqual(try XCTUnwrap(try w.grad).dtype, .bfloat16)
        }
    }

    func testFreedBlocksAreReusedAndCapped() throws {
        try Runtime.setCPUCacheLimit(bytes: 0)  // start empty
        try Runtime.setCPUCacheLimit(bytes: 64 << 20)
        let before = Runtime.cpuCacheStats
        do { _ = try Tensor.zeros([1024, 1024]) }  // 4 MiB, freed at once
        let held = Runtime.cpuCacheStats
        XCTAssertEqual(held.misses, before.misses + 1)
        XCTAssertGreaterThanOrEqual(held.cachedBytes, 4 << 20)
        do { _ = try Tensor.zeros([1024, 1000]) }  // smaller, same size class (4 MiB)
        let again = Runtime.cpuCacheStats
        XCTAssertEqual(again.hits, held.hits + 1)
        XCTAssertEqual(again.misses, held.misses)

        // A cap below the block's size: freed blocks go back to malloc.
        try Runtime.setCPUCacheLimit(bytes: 0)
        XCTAssertEqual(Runtime.cpuCacheStats.cachedBytes, 0)
        try Runtime.setCPUCacheLimit(bytes: 1 << 20)
        do { _ = try Tensor.zeros([1024, 1024]) }
        XCTAssertEqual(Runtime.cpuCacheStats.cachedBytes, 0)

        // Off: c10's allocator serves tensors, the cache counts nothing.
        try Runtime.setCPUCacheLimit(bytes: 0)
        let off = Runtime.cpuCacheStats
        do { _ = try Tensor.zeros([1024, 1024]) }
        XCTAssertEqual(Runtime.cpuCacheStats.hits + Runtime.cpuCacheStats.misses, off.hits + off.misses)
        XCTAssertThrowsError(try Runtime.setCPUCacheLimit(bytes: -1))
    }

    func testReusedMemoryGivesTheSameResults() throws {
        // The same computation with the cache off and on (warm, so its blocks are reused and
        // hold the previous iteration's values): identical outputs.
        func run() throws -> [Float] {
            let x = try Tensor.arange(0, 512 * 600, dtype: .float32).view([512, 600]) * 0.001
            let y = try (x.sin() * x.cos()).sum([1])
            return try y.toArray(Float.self)
        }
        try Runtime.setCPUCacheLimit(bytes: 0)
        let reference = try run()
        try Runtime.setCPUCacheLimit(bytes: 64 << 20)
        _ = try run()
        let hits = Runtime.cpuCacheStats.hits
        let cached = try run()
        XCTAssertGreaterThan(Runtime.cpuCacheStats.hits, hits)
        XCTAssertEqual(cached, reference)
    }

    func testEnvironmentSetsTheCap() throws {
        XCTAssertEqual(try Runtime.Settings.fromEnvironment(["BCSFT_CPU_CACHE_MB": "0"]).cpuCacheBytes, 0)
        XCTAssertEqual(try Runtime.Settings.fromEnvironment(["BCSFT_CPU_CACHE_MB": "256"]).cpuCacheBytes, 256 << 20)
        XCTAssertEqual(try Runtime.Settings.fromEnvironment([:]).cpuCacheBytes, Runtime.Settings.defaultCPUCacheBytes)
        XCTAssertThrowsError(try Runtime.Settings.fromEnvironment(["BCSFT_CPU_CACHE_MB": "-5"])) { error in
            XCTAssertTrue(error.localizedDescription.contains("BCSFT_CPU_CACHE_MB"), error.localizedDescription)
        }
    }
}
