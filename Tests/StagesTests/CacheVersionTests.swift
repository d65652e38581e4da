import Foundation
import Models
import Recipes
import XCTest

@testable import Stages

/// Cache keys follow the student's numerics only where the student runs: train always, eval
/// with a `checkpoint` input; stages that ask a teacher keep their plain version, so a kernel change
/// never re-asks a real server.
final class CacheVersionTests: XCTestCase {
    func testStudentStagesCarryTheNumericsRevision() throws {
        let none = StageSettings(stage: "s", values: [:])
        let problems = ["problems": [URL(fileURLWithPath: "/p.jsonl")]]
        let student = { (version: String) in "\(version)+student-numerics-\(Llama.numericsRevision)" }
        XCTAssertEqual(try TrainStage().cacheVersion(none, inputs: StageInputs(stage: "t", paths: ["data": [URL(fileURLWithPath: "/d")]])),
                       student(TrainStage().version))
        var withModel = problems
        withModel["checkpoint"] = [URL(fileURLWithPath: "/ckpt")]
        XCTAssertEqual(try EvalStage().cacheVersion(none, inputs: StageInputs(stage: "e", paths: withModel)), student(EvalStage().version))
        XCTAssertEqual(try EvalStage().cacheVersion(none, inputs: StageInputs(stage: "e", paths: problems)), EvalStage().version)
        XCTAssertEqual(try ExtractStage().cacheVersion(none, inputs: StageInputs(stage: "x", paths: problems)), ExtractStage().version)
        XCTAssertEqual(try GenerateStage().cacheVersion(none, inputs: StageInputs(stage: "g", paths: problems)), GenerateStage().version)
    }
}
