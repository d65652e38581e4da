import Foundation
import Torch
import XCTest

final class TensorTests: XCTestCase {
    func testHostRoundTripShapesAndDTypes() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(t.count, 6)
        XCTAssertEqual(t.dtype, .float32)
        XCTAssertEqual(t.device, .cpu)
        XCTAssertEqual(try t.transpose(0, 1).contiguous().toArray(Float.self), [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(try t.to(.int64).toArray(Int64.self), [1, 2, 3, 4, 5, 6])
        // bf16 keeps 8 bits of mantissa: 1.00390625 rounds to 1, 3 stays 3.
        XCTAssertEqual(try Tensor([1.00390625, 3] as [Float]).to(.bfloat16).toArray(Float.self), [1, 3])
        XCTAssertEqual(try Tensor([1, 2] as [Float]).to(.float16).bytes().count, 4)
        XCTAssertEqual(try Tensor([true, false]).logicalNot().toArray(Bool.self), [false, true])
    }

    func testFactoriesAndReductions() throws {
        XCTAssertEqual(try Tensor.arange(0, 5).toArray(Int64.self), [0, 1, 2, 3, 4])
        XCTAssertEqual(try Tensor.full([2, 2], value: 3).sum().item(), 12)
        let x = try Tensor([1, 5, 2, 4, 3, 0] as [Float], shape: [2, 3])
        XCTAssertEqual(try x.max([1]).toArray(Float.self), [5, 4])
        XCTAssertEqual(try x.argmax(1).toArray(Int64.self), [1, 0])
        XCTAssertEqual(try x.mean().item(), 2.5)
        XCTAssertEqual(try x.cumsum(1).toArray(Float.self), [1, 6, 8, 4, 7, 7])
        let (v, i) = try x.topk(2, dim: 1)
        XCTAssertEqual(try v.toArray(Float.self), [5, 2, 4, 3])
        XCTAssertEqual(try i.toArray(Int64.self), [1, 2, 0, 1])
        let (sv, _) = try x.sort(1, descending: true)
        XCTAssertEqual(try sv.toArray(Float.self), [5, 2, 1, 4, 3, 0])
        XCTAssertEqual(try x.softmax(1).sum([1]).toArray(Float.self).map { ($0 * 1000).rounded() }, [1000, 1000])
    }

    func testIndexingAndShapeOps() throws {
        let table = try Tensor((0..<12).map(Float.init), shape: [4, 3])
        let idx = try Tensor([3, 0] as [Int64])
        XCTAssertEqual(try table.embedding(idx).toArray(Float.self), [9, 10, 11, 0, 1, 2])
        XCTAssertEqual(try table.indexSelect(0, idx).toArray(Float.self), [9, 10, 11, 0, 1, 2])
        XCTAssertEqual(try table.narrow(0, start: 1, length: 2).toArray(Float.self), [3, 4, 5, 6, 7, 8])
        let g = try table.gather(1, Tensor([2, 1, 0, 0] as [Int64], shape: [4, 1]))
        XCTAssertEqual(try g.toArray(Float.self), [2, 4, 6, 9])
        XCTAssertEqual(try Tensor.cat([table, table], dim: 0).shape, [8, 3])
        XCTAssertEqual(try Tensor.stack([table, table], dim: 0).shape, [2, 4, 3])
        XCTAssertEqual(try table.view([2, 6]).permute([1, 0]).shape, [6, 2])
        XCTAssertEqual(try table.unsqueeze(0).expand([2, 4, 3]).shape, [2, 4, 3])
        XCTAssertEqual(try table.repeatInterleave(2, dim: 0).shape, [8, 3])
        let mask = try Tensor.ones([3, 3], dtype: .bool).triu(1)
        XCTAssertEqual(try Tensor.zeros([3, 3]).maskedFill(mask, 1).sum().item(), 3)
        XCTAssertEqual(try Tensor.where(mask, Tensor.ones([3, 3]), Tensor.zeros([3, 3])).sum().item(), 3)
        XCTAssertEqual(try Tensor.ones([3, 3]).tril().sum().item(), 6)
    }

    func testNoGradScopeRestoresModeAndStopsRecording() throws {
        let w = try Tensor([2] as [Float]).requiresGrad(true)
        XCTAssertTrue(isGradEnabled)
        let y = try withNoGrad { () throws -> Tensor in
            XCTAssertFalse(isGradEnabled)
            return try w * 3
        }
        XCTAssertTrue(isGradEnabled)
        XCTAssertFalse(y.requiresGrad)
        XCTAssertThrowsError(try withNoGrad { throw TorchError(kind: .unknown, message: "boom") })
        XCTAssertTrue(isGradEnabled, "mode restored after a throwing body")
        let z = try (w * w).sum()
        try z.backward()
        XCTAssertEqual(try XCTUnwrap(try w.grad).item(), 4)
        try w.zeroGrad()
        XCTAssertNil(try w.grad)
    }

    func testSeededGeneratorsReproduceAndStateRestores() throws {
        let g1 = try Generator(seed: 7), g2 = try Generator(seed: 7)
        XCTAssertEqual(try Tensor.randn([16], generator: g1).toArray(Float.self),
                       try Tensor.randn([16], generator: g2).toArray(Float.self))
        let state = try g1.state()
        let a = try Tensor.rand([8], generator: g1).toArray(Float.self)
        try g1.setState(state)
        XCTAssertEqual(try Tensor.rand([8], generator: g1).toArray(Float.self), a)
        let probs = try Tensor([0, 0, 1, 0] as [Float], shape: [1, 4])
        XCTAssertEqual(try probs.multinomial(3, replacement: true, generator: g1).toArray(Int64.self), [2, 2, 2])
        let r = try Tensor.randint(0, 5, shape: [100], generator: g2).toArray(Int64.self)
        XCTAssertTrue(r.allSatisfy { (0..<5).contains($0) })
        try Runtime.manualSeed(3)
        let d1 = try Tensor.randn([4]).toArray(Float.self)
        try Runtime.manualSeed(3)
        XCTAssertEqual(try Tensor.randn([4]).toArray(Float.self), d1)
    }

    func testOptimizerStateExportsAndImports() throws {
        let w = try Tensor([1, -1] as [Float]).requiresGrad(true)
        let opt = try AdamW(parameters: [w], .init(learningRate: 0.1))
        XCTAssertNil(try opt.state(of: 0).expAvg, "no state before the first step")
        try (w * w).sum().backward()
        try opt.step()
        let saved = try opt.state(of: 0)
        XCTAssertEqual(saved.step, 1)
        // A second optimizer restored from the state takes the same next step as the first.
        let w2 = try w.detach().clone().requiresGrad(true)
        let opt2 = try AdamW(parameters: [w2], .init(learningRate: 0.1))
        try opt2.setState(saved, of: 0)
        for (o, p) in [(opt, w), (opt2, w2)] {
            try o.zeroGrad()
            try (p * p).sum().backward()
            try o.step()
        }
        XCTAssertEqual(try w.toArray(Float.self), try w2.toArray(Float.self))
        XCTAssertThrowsError(try opt.state(of: 5))
    }

    func testTensorFileRoundTripKeepsNamesOrderAndValues() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.pt").path
        let a = try Tensor([1, 2, 3] as [Float]), b = try Tensor([7] as [Int64])
        try TensorFile.save([("z.first", a), ("a.second", b)], to: path)
        let loaded = try TensorFile.load(path)
        XCTAssertEqual(loaded.map(\.0), ["z.first", "a.second"])
        XCTAssertEqual(try loaded[0].1.toArray(Float.self), [1, 2, 3])
        XCTAssertEqual(try loaded[1].1.toArray(Int64.self), [7])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    func testRuntimeReportsSettings() throws {
        XCTAssertTrue(Runtime.torchVersion.hasPrefix("1.") || Runtime.torchVersion.hasPrefix("2."))
        XCTAssertGreaterThan(Runtime.threads, 0)
        let before = Runtime.threads
        try Runtime.setThreads(1)
        XCTAssertEqual(Runtime.threads, 1)
        try Runtime.setThreads(before)
        XCTAssertThrowsError(try Runtime.setThreads(0))
        XCTAssertFalse(Runtime.blas.isEmpty)
        XCTAssertThrowsError(try Runtime.Settings.fromEnvironment(["BCSFT_TORCH_THREADS": "two"]))
        XCTAssertEqual(try Runtime.Settings.fromEnvironment(["BCSFT_BLAS_THREADS": "3"]).blasThreads, 3)
        if !Runtime.cudaAvailable {
            XCTAssertEqual(Runtime.cudaDeviceCount, 0)
            XCTAssertThrowsError(try Tensor.zeros([2], device: .cuda())) { error in
                XCTAssertTrue(error.localizedDescription.contains("cuda"), error.localizedDescription)
            }
        }
    }
}
