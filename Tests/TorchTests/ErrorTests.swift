import Foundation
import Torch
import XCTest

/// Bad input becomes a Swift error carrying libtorch's message; the process keeps running.
final class ErrorTests: XCTestCase {
    func expectTorchError(_ fragment: String, kind: TorchError.Kind = .torch, _ body: () throws -> Any,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? TorchError else { return XCTFail("not a TorchError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, e.message, file: file, line: line)
            XCTAssertTrue(e.message.localizedCaseInsensitiveContains(fragment), "message: \(e.message)", file: file, line: line)
            XCTAssertFalse(e.message.contains("Exception raised from"), "backtrace leaked: \(e.message)", file: file, line: line)
        }
    }

    func testShapeMismatch() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
        expectTorchError("cannot be multiplied") { try a.matmul(b) }
        expectTorchError("must match") { try a + b }
        expectTorchError("shape '[7]' is invalid") { try a.view([7]) }
    }

    func testWrongDType() throws {
        let table = try Tensor.zeros([4, 3])
        expectTorchError("indices") { try table.embedding(Tensor([1.0, 2.0] as [Float])) }
        expectTorchError("expected scalar type Long") {
            try crossEntropy(Tensor.zeros([2, 3]), Tensor([0, 1] as [Int32]))
        }
    }

    func testIndexOutOfRange() throws {
        let t = try Tensor.zeros([3, 2])
        expectTorchError("out of range") { try t.indexSelect(0, Tensor([10] as [Int64])) }
        expectTorchError("out of range") { try t.narrow(3, start: 0, length: 1) }
        expectTorchError("index out of range") { try t.embedding(Tensor([5] as [Int64])) }
    }

    func testBadArgumentsRejectedByTheShim() throws {
        expectTorchError("bytes", kind: .invalidArgument) {
            try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try Tensor(bytes: $0, shape: [2], dtype: .float32) }
        }
        expectTorchError("device") { try Tensor.zeros([1], device: "tpu:0") }
        expectTorchError("step", kind: .invalidArgument) { try Tensor.arange(0, 5, step: 0) }
    }

    func testMissingAndCorruptFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.pt").path
        expectTorchError("cannot open") { try TensorFile.load(missing) }
        let corrupt = dir.appendingPathComponent("corrupt.pt")
        try Data("this is not a torch file".utf8).write(to: corrupt)
        expectTorchError("not a readable torch.save file") { try TensorFile.load(corrupt.path) }
        // A truncated real file is an error too, never a crash.
        let good = dir.appendingPathComponent("good.pt").path
        try TensorFile.save([("w", Tensor.ones([64, 64]))], to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        try bytes.prefix(bytes.count / 2).write(to: corrupt)
        expectTorchError("corrupt.pt") { try TensorFile.load(corrupt.path) }
    }

    func testErrorMessageIsReadableForUsers() throws {
        do {
            _ = try Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.localizedDescription.hasPrefix("libtorch: ct_matmul:"), error.localizedDescription)
        }
    }
}
