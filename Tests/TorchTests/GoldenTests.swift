import Foundation
import Torch
import XCTest

/// The shim against PyTorch: same network, same inputs, loss and every gradient within 1e-5.
final class GoldenTests: XCTestCase {
    func testMLPLossAndGradientsMatchPyTorch() throws {
        let g = try Golden.load()
        let m = try XCTUnwrap(g.root["mlp"] as? [String: Any])
        let x = try Golden.tensor(m["x"])
        let targets = try Tensor(try XCTUnwrap(m["targets"] as? [Int]).map(Int64.init))
        let w1 = try Golden.tensor(m["w1"], requiresGrad: true), b1 = try Golden.tensor(m["b1"], requiresGrad: true)
        let w2 = try Golden.tensor(m["w2"], requiresGrad: true), b2 = try Golden.tensor(m["b2"], requiresGrad: true)

        let h = try (x.matmul(w1) + b1).silu()
        let loss = try crossEntropy(h.matmul(w2) + b2, targets, ignoreIndex: -100)
        try loss.backward()

        XCTAssertEqual(try loss.item(), try XCTUnwrap(m["loss"] as? Double), accuracy: 1e-5)
        let grads = try XCTUnwrap(m["grads"] as? [String: Any])
        for (name, p) in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)] {
            try assertClose(try p.grad, grads[name], "grad \(name)")
        }
    }

    func testAttentionBlockLossAndGradientsMatchPyTorch() throws {
        let g = try Golden.load()
        let a = try XCTUnwrap(g.root["attention"] as? [String: Any])
        let d = try XCTUnwrap(a["dims"] as? [String: Int])
        let (B, T, D, H, V) = (d["B"]!, d["T"]!, d["D"]!, d["H"]!, d["V"]!)
        let hd = D / H
        var p: [String: Tensor] = [:]
        for name in ["x", "norm", "wq", "wk", "wv", "wo", "head"] { p[name] = try Golden.tensor(a[name], requiresGrad: true) }
        let x = p["x"]!
        let targets = try Tensor(try XCTUnwrap(a["targets"] as? [Int]).map(Int64.init))

        let n = try x * (x.square().mean([-1], keepDim: true) + 1e-5).rsqrt() * p["norm"]!
        func heads(_ w: Tensor) throws -> Tensor { try n.matmul(w).view([B, T, H, hd]).transpose(1, 2) }
        let q = try heads(p["wq"]!), k = try heads(p["wk"]!), v = try heads(p["wv"]!)
        var scores = try q.matmul(k.transpose(-2, -1)) / Double(hd).squareRoot()
        let mask = try Tensor.ones([T, T], dtype: .bool).triu(1)
        scores = try scores.maskedFill(mask, -.infinity)
        let y = try scores.softmax(-1).matmul(v).transpose(1, 2).contiguous().view([B, T, D])
        let hidden = try x + y.matmul(p["wo"]!)
        let logits = try hidden.matmul(p["head"]!)
        let loss = try crossEntropy(logits.view([-1, V]), targets, ignoreIndex: -100)
        try loss.backward()

        XCTAssertEqual(try loss.item(), try XCTUnwrap(a["loss"] as? Double), accuracy: 1e-5)
        let grads = try XCTUnwrap(a["grads"] as? [String: Any])
        for (name, t) in p { try assertClose(try t.grad, grads[name], "grad \(name)") }
    }

    func testAdamWWithGroupsAndClippingMatchesPyTorch() throws {
        let g = try Golden.load()
        let m = try XCTUnwrap(g.root["mlp"] as? [String: Any])
        let c = try XCTUnwrap(g.root["adamw"] as? [String: Any])
        let x = try Golden.tensor(m["x"])
        let targets = try Tensor(try XCTUnwrap(m["targets"] as? [Int]).map(Int64.init))
        let w1 = try Golden.tensor(m["w1"], requiresGrad: true), b1 = try Golden.tensor(m["b1"], requiresGrad: true)
        let w2 = try Golden.tensor(m["w2"], requiresGrad: true), b2 = try Golden.tensor(m["b2"], requiresGrad: true)
        let hp = AdamW.Hyperparameters(learningRate: c["lr"] as! Double, beta1: c["beta1"] as! Double,
                                       beta2: c["beta2"] as! Double, eps: c["eps"] as! Double, weightDecay: c["decay"] as! Double)
        let opt = try AdamW(hp)
        try opt.addGroup([w1, w2])
        try opt.addGroup([b1, b2], weightDecay: 0)
        let steps = try XCTUnwrap(c["steps"] as? [[String: Any]])
        let norms = try XCTUnwrap(c["norms"] as? [Double])
        for (i, expected) in steps.enumerated() {
            try opt.zeroGrad()
            let h = try (x.matmul(w1) + b1).silu()
            try crossEntropy(h.matmul(w2) + b2, targets).backward()
            let norm = try clipGradNorm([w1, b1, w2, b2], maxNorm: c["max_norm"] as! Double)
            XCTAssertEqual(norm, norms[i], accuracy: 1e-5, "clip norm at step \(i + 1)")
            try opt.step()
            for (name, t) in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)] {
                try assertClose(t, expected[name], "\(name) after step \(i + 1)")
            }
        }
        XCTAssertEqual(try opt.state(of: 0).step, 3)
    }
}
