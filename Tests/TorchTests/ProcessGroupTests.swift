import Foundation
import Torch
import XCTest

/// Two ranks in one process (threads), talking over a real TCP store and Gloo on loopback.
final class ProcessGroupTests: XCTestCase {
    func testAllReduceAndBroadcastAcrossTwoRanks() throws {
        let port = 20000 + Int(getpid() % 20000)
        final class Box: @unchecked Sendable { var results: [Int: ([Float], [Float])] = [:]; var errors: [Error] = []; let lock = NSLock() }
        let box = Box()
        let group = DispatchGroup()
        for rank in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do {
                    let pg = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: port, rank: rank, worldSize: 2, timeout: 30)
                    let a = try Tensor([Float(rank + 1), 10 * Float(rank + 1)])
                    let b = try Tensor.full([2, 2], value: Double(rank))
                    try pg.allReduceSum([a, b])
                    let c = try Tensor([Float(rank * 7 + 3)])
                    try pg.broadcast(c, root: 1)
                    try pg.barrier()
                    let r = (try a.toArray(Float.self) + b.toArray(Float.self), try c.toArray(Float.self))
                    box.lock.lock(); box.results[rank] = r; box.lock.unlock()
                } catch {
                    box.lock.lock(); box.errors.append(error); box.lock.unlock()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertTrue(box.errors.isEmpty, "\(box.errors)")
        for rank in 0..<2 {
            XCTAssertEqual(box.results[rank]?.0, [3, 30, 1, 1, 1, 1], "sums over both ranks, shapes kept")
            XCTAssertEqual(box.results[rank]?.1, [10], "rank 1's value everywhere")
        }
    }

    func testBadSettingsAreErrors() {
        XCTAssertThrowsError(try ProcessGroup(backend: "nccl", masterAddress: "127.0.0.1", masterPort: 29999, rank: 0, worldSize: 1)) {
            XCTAssertTrue($0.localizedDescription.contains("not available"), $0.localizedDescription)
        }
        XCTAssertThrowsError(try ProcessGroup(backend: "mpi", masterAddress: "127.0.0.1", masterPort: 29999, rank: 0, worldSize: 1)) {
            XCTAssertTrue($0.localizedDescription.contains("unknown backend 'mpi'"), $0.localizedDescription)
        }
        XCTAssertThrowsError(try ProcessGroup(masterAddress: "127.0.0.1", masterPort: 29999, rank: 2, worldSize: 2))
        XCTAssertThrowsError(try ProcessGroup.fromEnvironment(["WORLD_SIZE": "2", "RANK": "0"])) {
            XCTAssertTrue($0.localizedDescription.contains("MASTER_PORT"), $0.localizedDescription)
        }
        XCTAssertNil(try ProcessGroup.fromEnvironment([:]))
    }
}
