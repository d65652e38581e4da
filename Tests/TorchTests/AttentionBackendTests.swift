import Foundation
import Torch
import XCTest

/// `Runtime.setAttentionBackend`: SDPA where the shim is built against torch 2 or later (then it
/// agrees with the shim's kernel on packed documents, forward and backward), an error naming
/// the requirement on torch 1.x; the shim's own kernels on the CPU either way by default.
final class AttentionBackendTests: XCTestCase {
    override func tearDownWithError() throws { try Runtime.setAttentionBackend(.automatic) }

    func outputs(_ backend: Runtime.AttentionBackend) throws -> [[Float]] {
        try Runtime.setAttentionBackend(backend)
        defer { try? Runtime.setAttentionBackend(.automatic) }
        let g = try Generator(seed: 12)
        let (q, k, v) = try (Tensor.randn([2, 2, 12, 8], generator: g).requiresGrad(true), Tensor.randn([2, 2, 12, 8], generator: g).requiresGrad(true),
                             Tensor.randn([2, 2, 12, 8], generator: g).requiresGrad(true))
        let docs = try Tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1] as [Int64], shape: [2, 12])
        let same = try docs.unsqueeze(-1).eq(docs.unsqueeze(-2)).unsqueeze(1)
        let mask = try Tensor.zeros(same.shape).maskedFill(same.logicalNot(), -.infinity)
        let y = try Tensor.attention(q: q, k: k, v: v, mask: mask, scale: 0.35, causal: true)
        try (y * Tensor.randn(y.shape, generator: g)).sum().backward()
        return try [y.toArray(Float.self)] + [q, k, v].map { try XCTUnwrap($0.grad).toArray(Float.self) }
    }

    func testSDPAAgreesWithTheShimOrIsRefusedOnTorch1() throws {
        XCTAssertEqual(Runtime.attentionBackend, .automatic)
        let ours = try outputs(.shim)
        XCTAssertEqual(try outputs(.automatic), ours, "on the CPU the default is the shim's kernel")
        guard Runtime.hasSDPA else {
            XCTAssertThrowsError(try Runtime.setAttentionBackend(.sdpa)) { error in
                XCTAssertEqual((error as? TorchError)?.kind, .invalidArgument)
                XCTAssertTrue(error.localizedDescription.contains("torch 2"), error.localizedDescription)
            }
            XCTAssertEqual(Runtime.attentionBackend, .automatic, "a refused setting changes nothing")
            return
        }
        for (a, b) in zip(try outputs(.sdpa), ours) {
            XCTAssertLessThan(zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 1, 1e-5)
        }
    }
}
