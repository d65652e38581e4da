import Foundation
import Torch
import XCTest

/// Every handle is freed exactly once by Tensor.deinit: a loop of creations must not grow RSS.
final class MemoryTests: XCTestCase {
    func residentBytes() throws -> Int {
        let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let pages = Int(statm.split(separator: " ")[1]) ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testTenThousandCreationsAndFreesDoNotGrowResidentMemory() throws {
        func churn(_ n: Int) throws {
            for i in 0..<n {
                let t = try Tensor.full([1024], value: Double(i))  // 4 KiB each
                let u = try (t * 2).sum()
                XCTAssertEqual(try u.item(), Double(i) * 2048)
            }
        }
        try churn(1000)  // warm up allocator caches
        let before = try residentBytes()
        try churn(10_000)
        let grown = try residentBytes() - before
        // Leaking one 4 KiB tensor per iteration would add about 80 MiB (t and t * 2).
        XCTAssertLessThan(grown, 8 << 20, "resident memory grew by \(grown) bytes over 10,000 iterations")
    }
}
