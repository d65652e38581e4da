import Foundation
import Torch
import XCTest

/// `recompute` (shim/torch/src/recompute.cpp): the gradients of checkpointed layers equal the
/// plain run's, a failing body surfaces as a thrown error from `backward()`, and the shim
/// releases the Swift closure exactly once.
final class RecomputeTests: XCTestCase {
    /// Counts deinits of objects a body captures: the closure's release, seen from Swift.
    final class Token {
        nonisolated(unsafe) static var released = 0
        deinit { Token.released += 1 }
    }

    /// Two residual MLP layers, x + silu(x W1^T) W2^T each, on x [4, 6, 8].
    func twoLayers(checkpointed: Bool) throws -> (grads: [[Float]], loss: Double) {
        let g = try Generator(seed: 5)
        let x = try Tensor.randn([4, 6, 8], generator: g).requiresGrad(true)
        let weights = try (0..<4).map { _ in try (Tensor.randn([8, 8], generator: g) * 0.5).requiresGrad(true) }
        let up = try Tensor.randn([4, 6, 8], generator: g)
        func layer(_ i: Int, _ h: Tensor) throws -> Tensor {
            try h + h.linear(weights[2 * i]).silu().linear(weights[2 * i + 1])
        }
        var h = x
        for i in 0..<2 {
            h = checkpointed ? try recompute([h]) { try layer(i, $0[0]) } : try layer(i, h)
        }
        let loss = try (h * up).sum()
        try loss.backward()
        return (try ([x] + weights).map { try XCTUnwrap($0.grad).toArray(Float.self) }, try loss.item())
    }

    func testCheckpointedGradientsEqualThePlainRun() throws {
        let plain = try twoLayers(checkpointed: false), again = try twoLayers(checkpointed: true)
        XCTAssertEqual(plain.loss, again.loss, accuracy: 1e-6)
        for (i, (a, b)) in zip(plain.grads, again.grads).enumerated() {
            let worst = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-6, i == 0 ? "input" : "weight \(i - 1)")
            XCTAssertGreaterThan(a.map(Swift.abs).max() ?? 0, 0, "a gradient that is all zeros would prove nothing")
        }
    }

    func testParametersGetGradientsWhenNoInputRequiresGrad() throws {
        // A frozen embedding's output (LoRA): no input requires grad, the captured weight does.
        let w = try Tensor.randn([8, 8], generator: Generator(seed: 1)).requiresGrad(true)
        let x = try Tensor.randn([3, 8], generator: Generator(seed: 2))
        let y = try recompute([x]) { try $0[0].linear(w).tanh() }
        try y.sum().backward()
        let expected = try w.grad.map { try $0.toArray(Float.self) }
        try w.zeroGrad()
        try x.linear(w).tanh().sum().backward()
        let plain = try XCTUnwrap(w.grad).toArray(Float.self)
        let got = try XCTUnwrap(expected, "no gradient reached the captured weight")
        XCTAssertLessThan(zip(got, plain).map { Swift.abs($0 - $1) }.max() ?? 1, 1e-6)
    }

    func testAFailingBodyInBackwardIsAThrownErrorNamingIt() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom in the recomputation" } }
        let w = try Tensor.randn([4, 4], generator: Generator(seed: 3)).requiresGrad(true)
        let x = try Tensor.randn([2, 4], generator: Generator(seed: 4)).requiresGrad(true)
        var calls = 0
        let y = try recompute([x]) { inputs in
            calls += 1
            if calls == 2 { throw Boom() }
            return try inputs[0].linear(w)
        }
        XCTAssertThrowsError(try y.sum().backward()) { error in
            XCTAssertTrue("\(error.localizedDescription)".contains("boom in the recomputation"), error.localizedDescription)
        }
        XCTAssertEqual(calls, 2)
    }

    func testTheReleaseCallbackRunsExactlyOnce() throws {
        Token.released = 0
        let w = try Tensor.randn([4, 4], generator: Generator(seed: 6)).requiresGrad(true)
        do {
            let token = Token()
            let x = try Tensor.randn([2, 4], generator: Generator(seed: 7)).requiresGrad(true)
            let y = try recompute([x]) { [token] in _ = token; return try $0[0].linear(w) }
            let loss = try y.sum()
            try withExtendedLifetime((y, loss)) {
                XCTAssertEqual(Token.released, 0, "the graph is alive: the closure must be too")
                try loss.backward()
                XCTAssertEqual(Token.released, 0, "the graph still holds the node after backward")
            }
        }
        XCTAssertEqual(Token.released, 1, "freeing the graph releases the closure once")
        // A body that fails in forward makes no node: released once as well, and the error is thrown.
        do {
            let token = Token()
            let x = try Tensor.randn([2, 4], generator: Generator(seed: 8)).requiresGrad(true)
            XCTAssertThrowsError(try recompute([x]) { [token] in _ = token; return try $0[0].linear(Tensor.ones([3, 5])) })
        }
        XCTAssertEqual(Token.released, 2)
    }
}
