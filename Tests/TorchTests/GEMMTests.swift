import Foundation
import Torch
import XCTest

/// The oneDNN products (shim/torch/src/kernels/gemm.cpp) against ATen's: values and gradients, for the
/// operand layouts the model produces (transposed views, narrowed cache views, 4-D batches).
final class GEMMTests: XCTestCase {
    override func tearDown() {
        try? Runtime.setGEMMBackend(.onednn)
    }

    /// Runs `body` under each backend and returns (oneDNN's, ATen's) results.
    private func both<R>(_ body: () throws -> R) throws -> (R, R) {
        try Runtime.setGEMMBackend(.onednn)
        let a = try body()
        try Runtime.setGEMMBackend(.aten)
        let b = try body()
        try Runtime.setGEMMBackend(.onednn)
        return (a, b)
    }

    private func assertClose(_ a: [Float], _ b: [Float], tol: Float = 1e-4, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let worst = zip(a, b).map { Swift.abs($0 - $1) / max(1, Swift.abs($1)) }.max() ?? 0
        XCTAssertLessThan(worst, tol, "\(what): largest relative difference \(worst)", file: file, line: line)
    }

    func testBackendIsOneDNNByDefaultAndSwitchable() throws {
        XCTAssertEqual(Runtime.gemmBackend, .onednn)
        XCTAssertTrue(Runtime.gemmInfo.hasPrefix("oneDNN;"), Runtime.gemmInfo)
        try Runtime.setGEMMBackend(.aten)
        XCTAssertEqual(Runtime.gemmBackend, .aten)
        XCTAssertTrue(Runtime.gemmInfo.hasPrefix("ATen"), Runtime.gemmInfo)
        XCTAssertEqual(try Runtime.Settings.fromEnvironment(["BCSFT_GEMM": "ATen"]).gemm, .aten)
        XCTAssertThrowsError(try Runtime.Settings.fromEnvironment(["BCSFT_GEMM": "mkl"])) { error in
            XCTAssertTrue(error.localizedDescription.contains("BCSFT_GEMM='mkl'"), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains("onednn, aten"), error.localizedDescription)
        }
    }

    func testLinearValuesAndGradientsMatchATen() throws {
        let g = try Generator(seed: 7)
        let x0 = try Tensor.randn([3, 37, 48], generator: g)
        let w0 = try Tensor.randn([29, 48], generator: g)
        let b0 = try Tensor.randn([29], generator: g)
        let up = try Tensor.randn([3, 37, 29], generator: g)
        let (ours, ref) = try both { () -> [[Float]] in
            let x = try x0.clone().requiresGrad(true), w = try w0.clone().requiresGrad(true)
            let y = try x.linear(w, bias: b0)
            try (y * up).sum().backward()
            return [try y.toArray(), try XCTUnwrap(x.grad).toArray(), try XCTUnwrap(w.grad).toArray()]
        }
        for (i, what) in ["y", "dL/dx", "dL/dW"].enumerated() { assertClose(ours[i], ref[i], what) }
        // Exactly x @ W^T + b on a hand example, and no autograd when nothing needs it.
        let x = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]), w = try Tensor([1, 0, 1, 1, 0, 2] as [Float], shape: [3, 2])
        XCTAssertEqual(try x.linear(w, bias: Tensor([0, 10, 0] as [Float])).toArray(Float.self), [1, 13, 4, 3, 17, 8])
        XCTAssertFalse(try x.linear(w).requiresGrad)
    }

    func testAttentionProductsOnViewsMatchATen() throws {
        let g = try Generator(seed: 11)
        // q [B, H, T, D] as the model makes it: a transposed view of [B, T, H, D].
        let q0 = try Tensor.randn([2, 9, 3, 16], generator: g)
        // A KV cache buffer of capacity 12 of which 9 positions are filled: a narrowed view.
        let k0 = try Tensor.randn([2, 3, 12, 16], generator: g)
        let v0 = try Tensor.randn([2, 3, 12, 16], generator: g)
        let up = try Tensor.randn([2, 3, 9, 16], generator: g)
        let (ours, ref) = try both { () -> [[Float]] in
            let qb = try q0.clone().requiresGrad(true), kb = try k0.clone().requiresGrad(true), vb = try v0.clone().requiresGrad(true)
            let q = try qb.transpose(1, 2)
            let k = try kb.narrow(2, start: 0, length: 9), v = try vb.narrow(2, start: 0, length: 9)
            let p = try (q.matmul(k.transpose(-2, -1)) * 0.25).softmax(-1)
            let y = try p.matmul(v)
            try (y * up).sum().backward()
            return [try y.toArray(), try XCTUnwrap(qb.grad).toArray(), try XCTUnwrap(kb.grad).toArray(), try XCTUnwrap(vb.grad).toArray()]
        }
        for (i, what) in ["y", "dL/dq", "dL/dk", "dL/dv"].enumerated() { assertClose(ours[i], ref[i], what) }
    }

    func testAttentionOpMatchesComposedATen() throws {
        let g = try Generator(seed: 5)
        let (b, h, t, s, d) = (2, 3, 7, 9, 8)
        let q0 = try Tensor.randn([b, t, h, d], generator: g)  // transposed into [B, H, T, D] below
        let k0 = try Tensor.randn([b, h, s, d], generator: g), v0 = try Tensor.randn([b, h, s, 5], generator: g)
        // Causal over a cache of s - t earlier keys, per-batch key padding: [B, 1, T, S].
        var allowed = [Bool](repeating: false, count: b * t * s)
        for bi in 0..<b { for i in 0..<t { for j in 0..<s { allowed[(bi * t + i) * s + j] = j <= i + (s - t) && !(bi == 1 && j == 0) } } }
        let mask = try Tensor.zeros([b, 1, t, s]).maskedFill(Tensor(allowed, shape: [b, 1, t, s]).logicalNot(), -.infinity)
        let up = try Tensor.randn([b, h, t, 5], generator: g)
        for m in [mask, nil] {
            let (ours, ref) = try both { () -> [[Float]] in
                let qb = try q0.clone().requiresGrad(true), k = try k0.clone().requiresGrad(true), v = try v0.clone().requiresGrad(true)
                let y = try Tensor.attention(q: qb.transpose(1, 2), k: k, v: v, mask: m, scale: 0.3)
                try (y * up).sum().backward()
                return [try y.toArray(), try XCTUnwrap(qb.grad).toArray(), try XCTUnwrap(k.grad).toArray(), try XCTUnwrap(v.grad).toArray()]
            }
            for (i, what) in ["y", "dL/dq", "dL/dk", "dL/dv"].enumerated() { assertClose(ours[i], ref[i], "\(what), mask \(m != nil)") }
        }
        // By hand: one query, two keys with scores 0 and ln 3 after scaling: weights 1/4, 3/4.
        let q = try Tensor([1] as [Float], shape: [1, 1, 1, 1]), k = try Tensor([0, Float(Foundation.log(3.0))], shape: [1, 1, 2, 1])
        let v = try Tensor([4, 8] as [Float], shape: [1, 1, 2, 1])
        XCTAssertEqual(try Tensor.attention(q: q, k: k, v: v, mask: nil, scale: 1).item(), 7, accuracy: 1e-5)
        // A query with every key masked gives NaN (the model zeroes such rows itself).
        let all = try Tensor.full([1, 1, 1, 2], value: -.infinity)
        XCTAssertTrue(try Tensor.attention(q: q, k: k, v: v, mask: all, scale: 1).item().isNaN)
        XCTAssertThrowsError(try Tensor.attention(q: q, k: k, v: v, mask: Tensor.zeros([1, 1, 2, 2]), scale: 1)) { error in
            XCTAssertTrue(error.localizedDescription.contains("does not broadcast"), error.localizedDescription)
        }
        XCTAssertThrowsError(try Tensor.attention(q: q, k: k.transpose(2, 3), v: v, mask: nil, scale: 1)) { error in
            XCTAssertTrue(error.localizedDescription.contains("disagree"), error.localizedDescription)
        }
    }

    /// The causal kernel (query blocks of 64 that only compute the keys they may see) against
    /// softmax attention composed from elementary ops with the causal mask spelled out: several
    /// blocks and a partial one, a cache offset (S > T), document and padding masks on top, and
    /// q and v as the transposed views the model passes. Under both backends (the ATen one
    /// applies `causal` as a mask).
    func testCausalAttentionMatchesExplicitMask() throws {
        let g = try Generator(seed: 8)
        for (t, s) in [(150, 150), (70, 100)] {
            let (b, h, d) = (2, 3, 8)
            let q0 = try Tensor.randn([b, t, h, d], generator: g), k0 = try Tensor.randn([b, h, s, d], generator: g)
            let v0 = try Tensor.randn([b, s, h, 5], generator: g)
            let up = try Tensor.randn([b, h, t, 5], generator: g)
            // Documents: batch 1's keys split at 40 (a packed row); padding: batch 0's last 3 keys.
            var docs = [Bool](repeating: true, count: b * t * s), pad = [Bool](repeating: true, count: b * s)
            for i in 0..<t { for j in 0..<s where (i + s - t < 40) != (j < 40) { docs[(t + i) * s + j] = false } }
            for j in (s - 3)..<s { pad[j] = false }
            let allowed = try Tensor(docs, shape: [b, 1, t, s]).logicalAnd(Tensor(pad, shape: [b, 1, 1, s]))
            let extra = try Tensor.zeros([b, 1, t, s]).maskedFill(allowed.logicalNot(), -.infinity)
            let causal = try Tensor.ones([t, s], dtype: .bool).tril(s - t)
            let full = try Tensor.zeros([b, 1, t, s]).maskedFill(allowed.logicalAnd(causal).logicalNot(), -.infinity)
            for m in [extra, nil] {
                func run(_ f: (Tensor, Tensor, Tensor) throws -> Tensor) throws -> [[Float]] {
                    let qb = try q0.clone().requiresGrad(true), k = try k0.clone().requiresGrad(true), vb = try v0.clone().requiresGrad(true)
                    let y = try f(qb.transpose(1, 2), k, vb.transpose(1, 2))
                    try (y * up).sum().backward()
                    return [try y.contiguous().toArray(), try XCTUnwrap(qb.grad).toArray(), try XCTUnwrap(k.grad).toArray(), try XCTUnwrap(vb.grad).toArray()]
                }
                let reference = try run { q, k, v in
                    var scores = try q.matmul(k.transpose(-2, -1)) * 0.3
                    scores = try scores + (m == nil ? Tensor.zeros([1, 1, t, s]).maskedFill(causal.logicalNot(), -.infinity) : full)
                    return try scores.softmax(-1).matmul(v)
                }
                let (ours, aten) = try both { try run { q, k, v in try Tensor.attention(q: q, k: k, v: v, mask: m, scale: 0.3, causal: true) } }
                for (i, what) in ["y", "dL/dq", "dL/dk", "dL/dv"].enumerated() {
                    assertClose(ours[i], reference[i], "\(what), T \(t), S \(s), mask \(m != nil)")
                    assertClose(aten[i], reference[i], "ATen \(what), T \(t), S \(s), mask \(m != nil)")
                }
            }
        }
        // Without `causal` every key is visible: the last key changes the first query's output.
        let q = try Tensor.ones([1, 1, 2, 1]), k = try Tensor.ones([1, 1, 2, 1])
        let v = try Tensor([1, 3] as [Float], shape: [1, 1, 2, 1])
        XCTAssertEqual(try Tensor.attention(q: q, k: k, v: v, mask: nil, scale: 1, causal: true).toArray(Float.self), [1, 2])
        XCTAssertEqual(try Tensor.attention(q: q, k: k, v: v, mask: nil, scale: 1).toArray(Float.self), [2, 2])
    }

    func testBroadcastingAndOtherDTypesFallBackToATen() throws {
        let g = try Generator(seed: 3)
        let a = try Tensor.randn([2, 4, 5], generator: g), b = try Tensor.randn([5, 6], generator: g)
        let (ours, ref) = try both { try a.matmul(b).toArray(Float.self) }
        XCTAssertEqual(ours, ref)  // the same ATen call both times
        let a64 = try a.to(.float64), b64 = try b.to(.float64)
        XCTAssertEqual(try a64.matmul(b64).shape, [2, 4, 6])
        // An inner-dimension mismatch is an error from the shim, not a crash.
        XCTAssertThrowsError(try a.matmul(a))
        XCTAssertThrowsError(try a.linear(Tensor.randn([3, 4], generator: g)))
    }
}
