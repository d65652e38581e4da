import Foundation
import Torch
import XCTest

/// `chunkedCrossEntropy` (shim/torch/src/kernels/chunked_cross_entropy.cpp) against the plain
/// head: logits = hidden @ weight^T, then the summed cross-entropy. Loss and the gradients of
/// hidden and weight, with ignored rows and chunks that do not divide the rows.
final class ChunkedCrossEntropyTests: XCTestCase {
    let (n, d, v) = (37, 16, 50)

    func data(seed: UInt64) throws -> (hidden: Tensor, weight: Tensor, targets: Tensor, up: Tensor) {
        let g = try Generator(seed: seed)
        var t = try Tensor.randint(0, v, shape: [n], generator: g).toArray(Int64.self)
        for i in [0, 5, 6, 20, 36] { t[i] = -100 }
        return (try Tensor.randn([n, d], generator: g), try Tensor.randn([v, d], generator: g) * 0.3, try Tensor(t), try Tensor.randn([n, d], generator: g))
    }

    /// Loss, dL/dhidden, dL/dweight in float32, where hidden = h0 * up enters through a product
    /// (so the gradient flows on past the op) and the loss is scaled by 0.5 (backward's scaling).
    func run(_ h0: Tensor, _ w0: Tensor, _ targets: Tensor, _ up: Tensor, dtype: DType, chunk: Int?) throws -> (Double, [Float], [Float]) {
        let h = try h0.to(dtype).clone().requiresGrad(true), w = try w0.to(dtype).clone().requiresGrad(true)
        let hidden = try h * up.to(dtype)
        let loss = try chunk.map { try chunkedCrossEntropy(hidden: hidden, weight: w, targets: targets, chunkRows: $0) }
            ?? crossEntropy(hidden.linear(w).to(.float32), targets, reduction: .sum)
        try (loss * 0.5).backward()
        return (try loss.item(), try XCTUnwrap(h.grad).toArray(Float.self), try XCTUnwrap(w.grad).toArray(Float.self))
    }

    func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(b.map(Swift.abs).max() ?? 1, 1e-6)
        return (zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0) / scale
    }

    func testLossAndGradientsMatchTheFullLogits() throws {
        let (h, w, t, up) = try data(seed: 1)
        let plain = try run(h, w, t, up, dtype: .float32, chunk: nil)
        for chunk in [8, 11, 37, 100] {
            let c = try run(h, w, t, up, dtype: .float32, chunk: chunk)
            XCTAssertEqual(c.0, plain.0, accuracy: 1e-5 * Swift.abs(plain.0), "loss, chunks of \(chunk)")
            XCTAssertLessThan(relativeDifference(c.1, plain.1), 1e-5, "dL/dhidden, chunks of \(chunk)")
            XCTAssertLessThan(relativeDifference(c.2, plain.2), 1e-5, "dL/dweight, chunks of \(chunk)")
        }
        // Ignored rows get no gradient.
        let row0 = plain.1.prefix(d)
        XCTAssertEqual(row0.map(Swift.abs).max(), 0)
        // Without gradients (validation) the same loss.
        let quiet = try withNoGrad { try chunkedCrossEntropy(hidden: h * up, weight: w, targets: t, chunkRows: 8).item() }
        XCTAssertEqual(quiet, plain.0, accuracy: 1e-5 * Swift.abs(plain.0))
    }

    func testTiedEmbeddingAccumulatesBothGradients() throws {
        // The head is the embedding table: its gradient sums the lookup's and the head's.
        let g = try Generator(seed: 2)
        let table0 = try Tensor.randn([v, d], generator: g) * 0.3
        let ids = try Tensor.randint(0, v, shape: [n], generator: g)
        let targets = try Tensor.randint(0, v, shape: [n], generator: g)
        func grad(_ chunk: Int?) throws -> (Double, [Float]) {
            let table = try table0.clone().requiresGrad(true)
            let hidden = try table.embedding(ids).tanh()
            let loss = try chunk.map { try chunkedCrossEntropy(hidden: hidden, weight: table, targets: targets, chunkRows: $0) }
                ?? crossEntropy(hidden.linear(table), targets, reduction: .sum)
            try loss.backward()
            return (try loss.item(), try XCTUnwrap(table.grad).toArray(Float.self))
        }
        let plain = try grad(nil), chunked = try grad(10)
        XCTAssertEqual(chunked.0, plain.0, accuracy: 1e-5 * Swift.abs(plain.0))
        XCTAssertLessThan(relativeDifference(chunked.1, plain.1), 1e-5)
    }

    /// bfloat16: the chunked op takes the softmax in float32 from bf16 logits; the reference is
    /// the float32 computation. Stated tolerance: 1e-2 relative on the loss, 5e-2 of the largest
    /// gradient entry (bf16 keeps 8 bits of mantissa: inputs alone round by 2^-9).
    func testBFloat16StaysCloseToFloat32() throws {
        let (h, w, t, up) = try data(seed: 3)
        let reference = try run(h, w, t, up, dtype: .float32, chunk: nil)
        let half = try run(h, w, t, up, dtype: .bfloat16, chunk: 8)
        XCTAssertEqual(half.0, reference.0, accuracy: 1e-2 * Swift.abs(reference.0))
        XCTAssertLessThan(relativeDifference(half.1, reference.1), 5e-2)
        XCTAssertLessThan(relativeDifference(half.2, reference.2), 5e-2)
    }

    func testBadTargetsAndShapesAreErrors() throws {
        let (h, w, _, _) = try data(seed: 4)
        var t = [Int64](repeating: 1, count: n)
        t[9] = Int64(v)
        XCTAssertThrowsError(try chunkedCrossEntropy(hidden: h, weight: w, targets: Tensor(t), chunkRows: 8)) { error in
            XCTAssertTrue(error.localizedDescription.contains("at row 9"), error.localizedDescription)
        }
        XCTAssertThrowsError(try chunkedCrossEntropy(hidden: h, weight: w, targets: Tensor(t), chunkRows: 0))
        XCTAssertThrowsError(try chunkedCrossEntropy(hidden: h, weight: Tensor.ones([v, d + 1]), targets: Tensor(t), chunkRows: 8))
    }
}
