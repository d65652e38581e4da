import Foundation
import Models
import TestSupport
import Torch
import Training
import XCTest

/// bf16 and zero with lora, and pure bf16 (master_weights false): they train, and resume exactly.
extension LoRATrainingTests {
    func resumesExactly(_ extra: String, line: UInt = #line) throws {
        let straight = try config("s", steps: 8, extra: extra)
        try Trainer(straight).run()
        let split = try config("p", steps: 8, extra: extra)
        try Trainer(split).run(stopAfter: 6)
        let t = try Trainer(split, resume: true)
        XCTAssertEqual(t.step, 4, line: line)
        try t.run()
        let a = try losses(URL(fileURLWithPath: straight.output)), b = try losses(URL(fileURLWithPath: split.output))
        XCTAssertEqual(a.count, 8, line: line)
        XCTAssertEqual(a, b, extra, line: line)
        XCTAssertLessThan(a.suffix(2).reduce(0, +), a.prefix(2).reduce(0, +), "\(extra): \(a)", line: line)
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: straight.output))
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: split.output))
    }

    func testLoRAInBFloat16AndPureBFloat16ResumeExactly() throws {
        try resumesExactly("dtype: bfloat16")
        try resumesExactly("dtype: bfloat16\nzero: 1")
        try resumesExactly("dtype: bfloat16\nmaster_weights: false")
        let t = try Trainer(try config("d", steps: 1, extra: "dtype: bfloat16"))
        XCTAssertTrue(t.model.trainableParameters.allSatisfy { $0.1.dtype == .bfloat16 })
        XCTAssertTrue(t.model.parameters.allSatisfy { $0.1.dtype == .bfloat16 }, "the frozen base too")
    }
}

final class PureBFloat16Tests: XCTestCase {
    func testPureBFloat16KeepsNoMasterAndResumesExactly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func config(_ name: String, _ extra: String) throws -> TrainConfig {
            try TrainConfig.load(yaml: TinyData.yaml(output: dir.appendingPathComponent(name), steps: 8, extra: extra), source: "run.yaml")
        }
        for extra in ["dtype: bfloat16\nmaster_weights: false", "dtype: bfloat16\nmaster_weights: false\nzero: 1"] {
            let s = try config("s", extra), p = try config("p", extra)
            let t = try Trainer(s)
            try t.run()
            // bf16 moments only (zero 0), or a bf16 copy of the weights and bf16 moments (zero 1).
            XCTAssertEqual(try t.optimizerStateBytes, (extra.contains("zero") ? 6 : 4) * t.model.parameterCount, extra)
            try Trainer(p).run(stopAfter: 6)
            try Trainer(p, resume: true).run()
            XCTAssertEqual(try losses(URL(fileURLWithPath: s.output)), try losses(URL(fileURLWithPath: p.output)), extra)
            try FileManager.default.removeItem(at: URL(fileURLWithPath: s.output))
            try FileManager.default.removeItem(at: URL(fileURLWithPath: p.output))
        }
    }
}
