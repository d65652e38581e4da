import Foundation
import TestSupport
import Torch
import XCTest

@testable import Training

/// Reading a sharded optimizer state by ranges: any range of a group's flat index space, from
/// whichever shard files hold it, whatever the number of shards that wrote it.
final class OptimizerCheckpointTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Two groups (13 and 4 elements) written as 3 shards: chunks of 5 and of 2 (the last
    /// no_decay shard empty). Element i of a group holds i, 100 + i and 1000 + i.
    func groups() throws -> [ParameterGroup] {
        [ParameterGroup(name: "decay", weightDecay: 0.1, parameters: [("a", try Tensor.zeros([2, 3])), ("b", try Tensor.zeros([7]))]),
         ParameterGroup(name: "no_decay", weightDecay: 0, parameters: [("n", try Tensor.zeros([4]))])]
    }

    func writeShards(_ shards: Int) throws -> URL {
        let folder = dir.appendingPathComponent("optimizer")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let gs = try groups()
        try OptimizerCheckpoint.writeLayout(.init(shards: shards, step: 7, groups: gs), into: folder)
        for i in 0..<shards {
            var tensors: [(String, Tensor)] = []
            for g in gs {
                let r = OptimizerCheckpoint.range(total: g.parameters.reduce(0) { $0 + $1.1.count }, shards: shards, index: i)
                for (key, base) in [("exp_avg", 0), ("exp_avg_sq", 100), ("master", 1000)] {
                    tensors.append(("\(g.name)/\(key)", try Tensor(r.map { Float(base + $0) })))
                }
            }
            try TensorFile.save(tensors, to: folder.appendingPathComponent(OptimizerCheckpoint.shardFile(i, of: shards)).path)
        }
        return dir
    }

    func testRangesComeFromWhicheverShardsHoldThem() throws {
        XCTAssertEqual(OptimizerCheckpoint.range(total: 13, shards: 3, index: 2), 10..<13)
        XCTAssertEqual(OptimizerCheckpoint.range(total: 4, shards: 3, index: 2), 4..<4)
        let ck = try OptimizerCheckpoint(try writeShards(3))
        let gs = try groups()
        for (decay, noDecay) in [(0..<13, 0..<4), (3..<12, 1..<3), (0..<4, 4..<4), (11..<13, 0..<1), (5..<10, 2..<4)] {
            let got = try ck.ranges([(gs[0], decay), (gs[1], noDecay)])
            for (name, r) in [("decay", decay), ("no_decay", noDecay)] {
                let f = try XCTUnwrap(got[name])
                XCTAssertEqual(f.step, 7)
                XCTAssertEqual(try f.expAvg.toArray(Float.self), r.map { Float($0) }, "\(name) \(r)")
                XCTAssertEqual(try f.expAvgSq.toArray(Float.self), r.map { Float(100 + $0) }, "\(name) \(r)")
                XCTAssertEqual(try f.master.toArray(Float.self), r.map { Float(1000 + $0) }, "\(name) \(r)")
            }
        }
        // Per parameter, for the unsharded optimizer: shaped as the weights.
        let states = try ck.parameterStates(gs)
        XCTAssertEqual(try XCTUnwrap(states["b"]).expAvg.toArray(Float.self), (6..<13).map { Float($0) })
        XCTAssertEqual(try XCTUnwrap(states["a"]).master?.shape, [2, 3])
        XCTAssertEqual(try XCTUnwrap(states["n"]).expAvgSq.toArray(Float.self), [100, 101, 102, 103])

        // A range in a missing shard is an error naming it; ranges elsewhere still read.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("optimizer/shard-00001-of-00003.pt"))
        XCTAssertThrowsError(try ck.ranges([(gs[0], 4..<6), (gs[1], 0..<0)])) { error in
            XCTAssertTrue(error.localizedDescription.contains("shard-00001-of-00003.pt: trainer state unusable: missing"), error.localizedDescription)
        }
        XCTAssertEqual(try XCTUnwrap(try ck.ranges([(gs[0], 0..<5), (gs[1], 0..<2)])["decay"]).master.toArray(Float.self), [1000, 1001, 1002, 1003, 1004])
    }
}
