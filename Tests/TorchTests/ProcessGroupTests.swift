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

    /// reduce-scatter (an all-reduce underneath on Gloo) and all-gather, as ZeRO-1 uses them:
    /// rank r receives chunk r of the sum, and the chunks come back in rank order.
    func testReduceScatterAndAllGatherAcrossTwoRanks() throws {
        let port = 20000 + Int((getpid() + 7919) % 20000)
        final class Box: @unchecked Sendable { var results: [Int: ([Float], [Float])] = [:]; var errors: [Error] = []; let lock = NSLock() }
        let box = Box()
        let group = DispatchGroup()
        for rank in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do {
                    let pg = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: port, rank: rank, worldSize: 2, timeout: 30)
                    let input = try Tensor((0..<6).map { Float($0 + 10 * rank) })
                    let chunk = try Tensor.zeros([3])
                    try pg.reduceScatterSum(input, into: chunk)
                    let whole = try Tensor.zeros([4], dtype: .bfloat16)
                    // 1e30 is beyond float16's range: Gloo's bf16 gather must move bits, not values.
                    try pg.allGather(try Tensor([Float(rank), Float(rank + 1) * 1e30]).to(.bfloat16), into: whole)
                    let r = (try chunk.toArray(Float.self), try whole.to(.float32).toArray(Float.self))
                    box.lock.lock(); box.results[rank] = r; box.lock.unlock()
                    XCTAssertThrowsError(try pg.reduceScatterSum(input, into: try Tensor.zeros([4]))) {
                        XCTAssertTrue($0.localizedDescription.contains("world_size times the output's elements"), $0.localizedDescription)
                    }
                } catch {
                    box.lock.lock(); box.errors.append(error); box.lock.unlock()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertTrue(box.errors.isEmpty, "\(box.errors)")
        XCTAssertEqual(box.results[0]?.0, [10, 12, 14], "the first half of the sum")
        XCTAssertEqual(box.results[1]?.0, [16, 18, 20], "the second half")
        let sent = try Tensor([Float(0), 1e30, 1, 2e30]).to(.bfloat16).to(.float32).toArray(Float.self)
        for rank in 0..<2 { XCTAssertEqual(box.results[rank]?.1, sent, "rank 0's chunk, then rank 1's, bit for bit") }
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
