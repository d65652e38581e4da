import Foundation
import Torch
import XCTest

/// Reads Fixtures/golden.json (written by Fixtures/make_golden.py with python3-torch).
struct Golden {
    let root: [String: Any]

    static func load() throws -> Golden {
        let url = try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/golden.json")
        let data = try Data(contentsOf: url)
        return Golden(root: try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }

    static func tensor(_ obj: Any?, requiresGrad: Bool = false) throws -> Tensor {
        let o = try XCTUnwrap(obj as? [String: Any])
        let shape = try XCTUnwrap(o["shape"] as? [Int])
        let data = try XCTUnwrap(o["data"] as? [Double]).map(Float.init)
        let t = try Tensor(data, shape: shape)
        if requiresGrad { try t.requiresGrad(true) }
        return t
    }
}

/// Asserts every element of `actual` is within `tol` of the reference tensor.
func assertClose(_ actual: Tensor?, _ expected: Any?, tol: Float = 1e-5, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) throws {
    let a = try XCTUnwrap(actual, "\(what): no tensor", file: file, line: line)
    let e = try Golden.tensor(expected)
    XCTAssertEqual(a.shape, e.shape, "\(what): shape", file: file, line: line)
    let av = try a.toArray(Float.self), ev = try e.toArray(Float.self)
    var worst: Float = 0
    for (x, y) in zip(av, ev) { worst = max(worst, Swift.abs(x - y)) }
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs difference \(worst)", file: file, line: line)
}
