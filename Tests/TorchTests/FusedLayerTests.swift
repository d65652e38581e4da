import Foundation
import Torch
import XCTest

/// The shim's single-op RMSNorm, rotary embedding (shim/torch/src/kernels/norm_rotary.cpp), SwiGLU
/// (swiglu.cpp) and cross-entropy (cross_entropy.cpp) against the same formulas composed from
/// elementary ops or computed by ATen in float64: values and gradients.
final class FusedLayerTests: XCTestCase {
    private func assertClose(_ a: [Float], _ b: [Float], tol: Float = 1e-5, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let worst = zip(a, b).map { Swift.abs($0 - $1) / max(1, Swift.abs($1)) }.max() ?? 0
        XCTAssertLessThan(worst, tol, "\(what): largest relative difference \(worst)", file: file, line: line)
    }

    func testRMSNormMatchesTheComposedFormula() throws {
        let g = try Generator(seed: 1)
        let x0 = try Tensor.randn([3, 5, 16], generator: g) * 3, w0 = try Tensor.randn([16], generator: g)
        let up = try Tensor.randn([3, 5, 16], generator: g)
        func run(_ f: (Tensor, Tensor) throws -> Tensor) throws -> [[Float]] {
            let x = try x0.clone().requiresGrad(true), w = try w0.clone().requiresGrad(true)
            let y = try f(x, w)
            try (y * up).sum().backward()
            return [try y.toArray(), try XCTUnwrap(x.grad).toArray(), try XCTUnwrap(w.grad).toArray()]
        }
        let fused = try run { try $0.rmsNorm($1, eps: 1e-5) }
        let composed = try run { x, w in try w * (x * (x.square().mean([-1], keepDim: true) + 1e-5).rsqrt()) }
        for (i, what) in ["y", "dL/dx", "dL/dw"].enumerated() { assertClose(fused[i], composed[i], what) }
        // By hand: x = (3, 4), mean(x^2) = 12.5, w = (1, 2): y = (3, 8) / sqrt(12.5).
        let y = try Tensor([3, 4] as [Float]).rmsNorm(Tensor([1, 2] as [Float]), eps: 0).toArray(Float.self)
        XCTAssertEqual(y[0], 3 / Float(12.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(y[1], 8 / Float(12.5).squareRoot(), accuracy: 1e-6)
        // bf16 input is normalised in float32 (HF's LlamaRMSNorm), so it stays close to fp32.
        let half = try x0.to(.bfloat16).rmsNorm(w0.to(.bfloat16), eps: 1e-5)
        XCTAssertEqual(half.dtype, .bfloat16)
        assertClose(try half.toArray(Float.self), try x0.rmsNorm(w0, eps: 1e-5).toArray(Float.self), tol: 2e-2, "bf16")
        XCTAssertThrowsError(try x0.rmsNorm(Tensor.ones([8]), eps: 1e-5)) { error in
            XCTAssertTrue(error.localizedDescription.contains("last dimension"), error.localizedDescription)
        }
    }

    func testRotaryMatchesHFRotateHalf() throws {
        let g = try Generator(seed: 2)
        let (b, h, t, d) = (2, 3, 5, 8)
        let x0 = try Tensor.randn([b, t, h, d], generator: g)  // used as the [B, H, T, D] transposed view, like q
        let angles = try Tensor.randn([b, 1, t, d / 2], generator: g)
        let (c, s) = (try angles.cos(), try angles.sin())
        let up = try Tensor.randn([b, h, t, d], generator: g)
        func run(_ f: (Tensor) throws -> Tensor) throws -> [[Float]] {
            let xb = try x0.clone().requiresGrad(true)
            let y = try f(xb.transpose(1, 2))
            try (y * up).sum().backward()
            return [try y.contiguous().toArray(), try XCTUnwrap(xb.grad).toArray()]
        }
        let fused = try run { try $0.rotary(cos: c, sin: s) }
        // HF: x * cat(c, c) + rotate_half(x) * cat(s, s), rotate_half(x) = cat(-x2, x1).
        let composed = try run { x in
            let (x1, x2) = (try x.narrow(-1, start: 0, length: d / 2), try x.narrow(-1, start: d / 2, length: d / 2))
            let rot = try Tensor.cat([x2.neg(), x1], dim: -1)
            return try x * Tensor.cat([c, c], dim: -1) + rot * Tensor.cat([s, s], dim: -1)
        }
        for (i, what) in ["y", "dL/dx"].enumerated() { assertClose(fused[i], composed[i], what) }
        XCTAssertThrowsError(try x0.transpose(1, 2).rotary(cos: c.narrow(-1, start: 0, length: 2), sin: s)) { error in
            XCTAssertTrue(error.localizedDescription.contains("cos and sin"), error.localizedDescription)
        }
    }

    func testSwiGLUMatchesSiluTimesUp() throws {
        let g = try Generator(seed: 3)
        // The halves of a fused [.., 2F] projection, as the model passes them (strided rows).
        let gu0 = try Tensor.randn([2, 5, 2 * 24], generator: g) * 4
        let up = try Tensor.randn([2, 5, 24], generator: g)
        func run(_ f: (Tensor, Tensor) throws -> Tensor) throws -> [[Float]] {
            let gu = try gu0.clone().requiresGrad(true)
            let y = try f(gu.narrow(-1, start: 0, length: 24), gu.narrow(-1, start: 24, length: 24))
            try (y * up).sum().backward()
            return [try y.toArray(), try XCTUnwrap(gu.grad).toArray()]
        }
        let fused = try run { try Tensor.swiglu(gate: $0, up: $1) }
        let composed = try run { try $0.silu() * $1 }
        for (i, what) in ["y", "dL/d(gate, up)"].enumerated() { assertClose(fused[i], composed[i], what) }
        // By hand: silu(0) = 0, silu(2) = 2 sigmoid(2).
        let y = try Tensor.swiglu(gate: Tensor([0, 2] as [Float]), up: Tensor([5, 3] as [Float])).toArray(Float.self)
        XCTAssertEqual(y[0], 0, accuracy: 1e-7)
        XCTAssertEqual(y[1], 6 / (1 + Float(Foundation.exp(-2.0))), accuracy: 1e-6)
        // Other dtypes take ATen's ops.
        XCTAssertEqual(try Tensor.swiglu(gate: gu0.narrow(-1, start: 0, length: 24).to(.bfloat16), up: up.to(.bfloat16)).dtype, .bfloat16)
        XCTAssertThrowsError(try Tensor.swiglu(gate: up, up: Tensor.ones([2, 5, 23]))) { error in
            XCTAssertTrue(error.localizedDescription.contains("same shape"), error.localizedDescription)
        }
    }

    func testCrossEntropyMatchesATenInFloat64() throws {
        let g = try Generator(seed: 4)
        let logits0 = try Tensor.randn([37, 301], generator: g) * 5
        let targets = try Tensor([3, -100, 300, 0, 7, -100] + (0..<31).map { Int64($0 * 9) } as [Int64])
        for reduction in [Reduction.mean, .sum, .none] {
            // float32 takes the fused op, float64 ATen's cross_entropy_loss.
            func run(_ dtype: DType) throws -> [[Float]] {
                let x = try (dtype == .float32 ? logits0.clone() : logits0.to(dtype)).requiresGrad(true)  // a fresh leaf
                let loss = try crossEntropy(x, targets, reduction: reduction)
                try (reduction == .none ? loss * Tensor.arange(0, 37, dtype: dtype) : loss).sum().backward()
                return [try loss.to(.float32).toArray(), try XCTUnwrap(x.grad).to(.float32).toArray()]
            }
            let fused = try run(.float32), reference = try run(.float64)
            for (i, what) in ["loss", "dL/dlogits"].enumerated() { assertClose(fused[i], reference[i], "\(what), \(reduction)") }
        }
        // Ignored rows get no gradient; a target outside [0, C) is an error naming its row.
        let x = try logits0.clone().requiresGrad(true)
        try crossEntropy(x, targets).backward()
        let grad = try XCTUnwrap(x.grad).toArray(Float.self)
        XCTAssertEqual(Array(grad[301..<602]), [Float](repeating: 0, count: 301))
        let bad = try Tensor([3, 301] + [Int64](repeating: 0, count: 35) as [Int64])
        XCTAssertThrowsError(try crossEntropy(logits0, bad)) { error in
            XCTAssertTrue(error.localizedDescription.contains("target 301 at row 1"), error.localizedDescription)
        }
    }

    /// bf16 logits are upcast: the loss is the float32 loss of the same (bf16-valued) logits,
    /// bit for bit, not a bf16 sum over tokens; the gradient comes back in bf16.
    func testCrossEntropyOfBFloat16LogitsComputesInFloat32() throws {
        let logits = try (Tensor.randn([64, 301], generator: Generator(seed: 5)) * 5).to(.bfloat16)
        let targets = try Tensor((0..<64).map { Int64($0 * 4) })
        let x = try logits.clone().requiresGrad(true)
        let loss = try crossEntropy(x, targets, reduction: .sum)
        XCTAssertEqual(loss.dtype, .float32)
        XCTAssertEqual(try loss.item(), try crossEntropy(logits.to(.float32), targets, reduction: .sum).item())
        try loss.backward()
        XCTAssertEqual(try XCTUnwrap(x.grad).dtype, .bfloat16)
    }

    /// bf16 attention on the CPU is the fp32 kernel over float32 copies, rounded back: the same
    /// output and gradients as running it in float32 and rounding, with a packed-document mask.
    func testBFloat16AttentionOnTheCPUIsTheFloat32KernelRounded() throws {
        let g = try Generator(seed: 9)
        let (q, k, v) = (try Tensor.randn([2, 3, 17, 8], generator: g).to(.bfloat16), try Tensor.randn([2, 3, 17, 8], generator: g).to(.bfloat16),
                         try Tensor.randn([2, 3, 17, 8], generator: g).to(.bfloat16))
        let docs = try Tensor((0..<34).map { Int64($0 % 17 < 9 ? 0 : 1) }).view([2, 17])
        let allowed = try docs.unsqueeze(-1).eq(docs.unsqueeze(-2)).unsqueeze(1)
        func run(_ dtype: DType) throws -> (out: [Float], grads: [[Float]]) {
            let xs = try [q, k, v].map { try $0.to(dtype).detach().requiresGrad(true) }
            let mask = try Tensor.zeros(allowed.shape, dtype: dtype).maskedFill(allowed.logicalNot(), -.infinity)
            let y = try Tensor.attention(q: xs[0], k: xs[1], v: xs[2], mask: mask, scale: 0.35, causal: true)
            XCTAssertEqual(y.dtype, dtype)
            let rounded = try y.to(.bfloat16)
            try (rounded.to(.float32) * Tensor.arange(0, 8)).sum().backward()
            return (try rounded.to(.float32).toArray(Float.self), try xs.map { try XCTUnwrap($0.grad).to(.bfloat16).to(.float32).toArray(Float.self) })
        }
        let (half, single) = (try run(.bfloat16), try run(.float32))
        XCTAssertEqual(half.out, single.out, "the output is the fp32 kernel's, rounded")
        for (a, b) in zip(half.grads, single.grads) { assertClose(a, b, tol: 1e-2, "gradients in bf16") }
    }
}
