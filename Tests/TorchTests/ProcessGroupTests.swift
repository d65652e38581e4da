import Foundation
import Torch
import XCTest

/// Each rank's result or error, written from the ranks' threads.
private final class RankResults<R>: @unchecked Sendable { var results: [Int: R] = [:]; var errors: [Error] = []; let lock = NSLock() }

/// Two ranks in one process (threads), talking over a real TCP store and Gloo on loopback.
final class ProcessGroupTests: XCTestCase {
    /// Runs `body` as rank 0 and rank 1 of a Gloo group on loopback (one thread each) and returns
    /// each rank's result; any rank's error fails the test.
    func onTwoRanks<R>(port: Int, _ body: @escaping @Sendable (ProcessGroup, Int) throws -> R) throws -> [Int: R] {
        let box = RankResults<R>()
        let group = DispatchGroup()
        for rank in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do {
                    let pg = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: port, rank: rank, worldSize: 2, timeout: 30)
                    let r = try body(pg, rank)
                    box.lock.lock(); box.results[rank] = r; box.lock.unlock()
                } catch {
                    box.lock.lock(); box.errors.append(error); box.lock.unlock()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertTrue(box.errors.isEmpty, "\(box.errors)")
        return box.results
    }

    func testAllReduceAndBroadcastAcrossTwoRanks() throws {
        let results = try onTwoRanks(port: 20000 + Int(getpid() % 20000)) { pg, rank in
            let a = try Tensor([Float(rank + 1), 10 * Float(rank + 1)])
            let b = try Tensor.full([2, 2], value: Double(rank))
            try pg.allReduceSum([a, b])
            let c = try Tensor([Float(rank * 7 + 3)])
            try pg.broadcast(c, root: 1)
            try pg.barrier()
            return (try a.toArray(Float.self) + b.toArray(Float.self), try c.toArray(Float.self))
        }
        for rank in 0..<2 {
            XCTAssertEqual(results[rank]?.0, [3, 30, 1, 1, 1, 1], "sums over both ranks, shapes kept")
            XCTAssertEqual(results[rank]?.1, [10], "rank 1's value everywhere")
        }
    }

    /// reduce-scatter (an all-reduce underneath on Gloo) and all-gather, as ZeRO-1 uses them:
    /// rank r receives chunk r of the sum, and the chunks come back in rank order.
    func testReduceScatterAndAllGatherAcrossTwoRanks() throws {
        let results = try onTwoRanks(port: 20000 + Int((getpid() + 7919) % 20000)) { pg, rank in
            let input = try Tensor((0..<6).map { Float($0 + 10 * rank) })
            let chunk = try Tensor.zeros([3])
            try pg.reduceScatterSum(input, into: chunk)
            let whole = try Tensor.zeros([4], dtype: .bfloat16)
            // 1e30 is beyond float16's range: Gloo's bf16 gather must move bits, not values.
            try pg.allGather(try Tensor([Float(rank), Float(rank + 1) * 1e30]).to(.bfloat16), into: whole)
            XCTAssertThrowsError(try pg.reduceScatterSum(input, into: try Tensor.zeros([4]))) {
                XCTAssertTrue($0.localizedDescription.contains("world_size times the output's elements"), $0.localizedDescription)
            }
            return (try chunk.toArray(Float.self), try whole.to(.float32).toArray(Float.self))
        }
        XCTAssertEqual(results[0]?.0, [10, 12, 14], "the first half of the sum")
        XCTAssertEqual(results[1]?.0, [16, 18, 20], "the second half")
        let sent = try Tensor([Float(0), 1e30, 1, 2e30]).to(.bfloat16).to(.float32).toArray(Float.self)
        for rank in 0..<2 { XCTAssertEqual(results[rank]?.1, sent, "rank 0's chunk, then rank 1's, bit for bit") }
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
