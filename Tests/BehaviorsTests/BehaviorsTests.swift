import Behaviors
import Foundation
import TestSupport
import XCTest

final class BehaviorParserTests: XCTestCase {
    func testJSONInAFenceWithProseAndTrailingCommas() {
        let reply = """
        Here are the behaviors I extracted:
        ```json
        {
          "behavior_angle_sum": "The interior angles of a triangle sum to 180 degrees; use it to find a missing angle.",
          "behavior_check_by_substitution": "Substitute the answer back into the original equation to verify it.",
        }
        ```
        Let me know if you need more.
        """
        let r = BehaviorParser.parse(reply)
        XCTAssertEqual(r.format, .json)
        XCTAssertEqual(r.behaviors.map(\.name), ["behavior_angle_sum", "behavior_check_by_substitution"])
        XCTAssertTrue(r.behaviors[0].instruction.hasPrefix("The interior angles"))
    }

    func testBracesInsideStringsAndNonBehaviorKeys() {
        let reply = #"{"behavior_sets": "Write {a, b} as a set; order does not matter.", "note": "ignore me", "behavior_empty": ""}"#
        let r = BehaviorParser.parse(reply)
        XCTAssertEqual(r.behaviors.map(\.name), ["behavior_sets"])
        XCTAssertEqual(r.behaviors[0].instruction, "Write {a, b} as a set; order does not matter.")
    }

    func testBehaviorLinesWhenThereIsNoJSON() {
        let reply = """
        1. behavior_finite_geometric_sum: Use a(1 - r^n)/(1 - r) for the first n terms.
        - **behavior_Unit Check** – Convert every quantity to the same unit first.
        Some other text.
        """
        let r = BehaviorParser.parse(reply)
        XCTAssertEqual(r.format, .lines)
        XCTAssertEqual(r.behaviors.map(\.name), ["behavior_finite_geometric_sum"])
        XCTAssertEqual(r.behaviors[0].instruction, "Use a(1 - r^n)/(1 - r) for the first n terms.")
    }

    func testGarbageIsReportedNotThrown() {
        for text in ["", "I could not think of any behaviors.", "{not json at all", "{\"behavior_x\": 5}"] {
            XCTAssertEqual(BehaviorParser.parse(text).format, .unparseable, text)
        }
    }

    func testCitationsAreWholeNamesInOrder() {
        let known = ["behavior_angle_sum", "behavior_angle", "behavior_check"]
        let response = "Using behavior_angle_sum, the third angle is 50. Then behavior_check: 50+60+70=180."
        XCTAssertEqual(BehaviorParser.citations(in: response, known: known), ["behavior_angle_sum", "behavior_check"])
        XCTAssertEqual(BehaviorParser.citations(in: "no citations", known: known), [])
    }

    func testNamesAreCanonical() {
        XCTAssertEqual(Behavior.canonicalName("Behavior_Angle Sum!"), "behavior_angle_sum")
        XCTAssertEqual(Behavior.canonicalName("unit-check"), "behavior_unit_check")
    }
}

final class HandbookTests: XCTestCase {
    func b(_ name: String, _ text: String, topic: String? = nil, source: String = "p1") -> Behavior {
        Behavior(name: name, instruction: text, topic: topic, sources: [source], createdBy: "scripted-strategist", promptVersion: "v1")
    }

    func testExactDuplicatesMergeProvenance() {
        var h = Handbook()
        XCTAssertTrue(h.add(b("behavior_angle_sum", "Angles of a triangle sum to 180.", source: "p1")))
        XCTAssertFalse(h.add(b("behavior_angle_sum", "  angles of a triangle   sum to 180 ", source: "p2")), "same text once normalised")
        XCTAssertFalse(h.add(b("behavior_triangle_angles", "Angles of a triangle sum to 180.", source: "p3")), "same instruction, other name")
        XCTAssertEqual(h.count, 1)
        XCTAssertEqual(h.behaviors[0].sources, ["p1", "p2", "p3"])
        XCTAssertTrue(h.add(b("behavior_angle_sum", "Exterior angles of a polygon sum to 360.")))
        XCTAssertEqual(h.count, 2)
    }

    func testNearDuplicatesByEmbedding() {
        var h = Handbook([b("behavior_a", "First.", source: "p1"), b("behavior_b", "Second.", source: "p2"), b("behavior_c", "Third.", source: "p3")])
        let ids = h.behaviors.map(\.id)
        let merged = h.mergeNearDuplicates(embeddings: [ids[0]: [1, 0, 0], ids[1]: [0.99, 0.1, 0], ids[2]: [0, 1, 0]], threshold: 0.95)
        XCTAssertEqual(merged, 1)
        XCTAssertEqual(h.behaviors.map(\.name), ["behavior_a", "behavior_c"])
        XCTAssertEqual(h.behaviors[0].sources, ["p1", "p2"])
    }

    func testSaveLoadRoundTripAndBadLines() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("handbook.jsonl")
        var h = Handbook([b("behavior_angle_sum", "Angles sum to 180.", topic: "Geometry"), b("behavior_check", "Check by substitution.", topic: "Algebra")])
        h.recordUses(["behavior_check", "behavior_check", "behavior_unknown"])
        try h.save(url)
        let back = try Handbook.load(url)
        XCTAssertEqual(back, h)
        XCTAssertEqual(back.behavior(named: "behavior_check")?.uses, 2)
        try (String(contentsOf: url, encoding: .utf8) + "{\"name\": \"oops\"}\n").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Handbook.load(url)) { error in
            XCTAssertTrue(error.localizedDescription.hasPrefix("\(url.path):3: "), error.localizedDescription)
        }
    }
}

final class RetrievalTests: XCTestCase {
    let handbook = Handbook([
        Behavior(name: "behavior_angle_sum", instruction: "The interior angles of a triangle sum to 180 degrees.", topic: "Geometry", createdBy: "s"),
        Behavior(name: "behavior_geometric_sum", instruction: "The sum of a finite geometric series is a(1 - r^n)/(1 - r).", topic: "Algebra", createdBy: "s"),
        Behavior(name: "behavior_unit_check", instruction: "Convert all quantities to the same unit before adding.", topic: "Prealgebra", createdBy: "s"),
    ])

    func testBM25RanksTheRelevantBehaviorFirstAndScoresDescend() {
        let r = BM25Index(handbook).search("A triangle has angles 40 and 60 degrees. Find the third angle.", k: 3)
        XCTAssertEqual(r.first?.behavior.name, "behavior_angle_sum")
        XCTAssertEqual(r.map(\.score), r.map(\.score).sorted(by: >))
        XCTAssertTrue(r.allSatisfy { $0.score > 0 })
        let g = BM25Index(handbook).search("geometric series with ratio 1/2", k: 1)
        XCTAssertEqual(g.map(\.behavior.name), ["behavior_geometric_sum"])
        XCTAssertTrue(BM25Index(handbook).search("zebra", k: 3).isEmpty)
    }

    func testTopicAndEmbeddingRetrieval() {
        XCTAssertEqual(Retrieval.byTopic(handbook, topic: "geometry", query: "zebra").map(\.behavior.name), ["behavior_angle_sum"])
        let ids = handbook.behaviors.map(\.id)
        let e: [String: [Float]] = [ids[0]: [1, 0], ids[1]: [0, 1], ids[2]: [0.7, 0.7]]
        let r = Retrieval.byEmbedding(handbook, embeddings: e, query: [1, 0.1], k: 2)
        XCTAssertEqual(r.map(\.behavior.name), ["behavior_angle_sum", "behavior_unit_check"])
        XCTAssertGreaterThan(r[0].score, r[1].score)
    }
}

/// Topic retrieval as in the paper: every behavior of the topic; a cap keeps the most relevant.
final class TopicRetrievalTests: XCTestCase {
    /// Names sort against relevance: the alphabetically first are about other things.
    let handbook = Handbook([
        Behavior(name: "behavior_a_units", instruction: "Convert every quantity to one unit.", topic: "Algebra", createdBy: "s", uses: 3),
        Behavior(name: "behavior_b_signs", instruction: "Track the sign when moving terms across.", topic: "Algebra", createdBy: "s", uses: 9),
        Behavior(name: "behavior_y_quadratic", instruction: "Solve a quadratic equation by factoring the quadratic.", topic: "Algebra", createdBy: "s"),
        Behavior(name: "behavior_z_discriminant", instruction: "The discriminant of a quadratic equation tells its roots.", topic: "Algebra", createdBy: "s"),
        Behavior(name: "behavior_c_quadratic_area", instruction: "A quadratic area problem.", topic: "Geometry", createdBy: "s"),
    ])
    let question = "Solve the quadratic equation x^2 - 5x + 6 = 0 by factoring."

    func testEveryBehaviorOfTheTopicMostRelevantFirst() {
        let r = Retrieval.byTopic(handbook, topic: "algebra", query: question)
        XCTAssertEqual(Set(r.map(\.behavior.name)), ["behavior_a_units", "behavior_b_signs", "behavior_y_quadratic", "behavior_z_discriminant"])
        XCTAssertEqual(r.prefix(2).map(\.behavior.name), ["behavior_y_quadratic", "behavior_z_discriminant"])
        XCTAssertEqual(r.map(\.score), r.map(\.score).sorted(by: >))
    }

    func testACapKeepsTheMostRelevantNotTheAlphabeticallyFirst() {
        let r = Retrieval.byTopic(handbook, topic: "Algebra", query: question, k: 1)
        XCTAssertEqual(r.map(\.behavior.name), ["behavior_y_quadratic"])
    }

    func testTiesGoToTheMoreUsedThenByName() {
        let r = Retrieval.byTopic(handbook, topic: "Algebra", query: "zebra")
        XCTAssertTrue(r.allSatisfy { $0.score == 0 })
        XCTAssertEqual(r.map(\.behavior.name), ["behavior_b_signs", "behavior_a_units", "behavior_y_quadratic", "behavior_z_discriminant"])
        XCTAssertTrue(Retrieval.byTopic(handbook, topic: "Number Theory", query: question).isEmpty)
    }
}

final class PromptTemplateTests: XCTestCase {
    func testShippedTemplatesRenderAndNeverReExpandValues() throws {
        let values: [PromptTemplate.Kind: [String: String]] = [
            .solution: ["problem": "P"], .reflection: ["problem": "P", "solution": "S"],
            .behaviors: ["problem": "P", "solution": "S", "reflection": "R"], .bci: ["behaviors": "B"],
            .critique: ["problem": "P", "solution": "S"], .revise: ["problem": "P", "solution": "S"],
            .reviseWithCritique: ["problem": "P", "solution": "S", "critique": "C"],
        ]
        for kind in PromptTemplate.Kind.allCases {
            let t = try PromptTemplate.load(kind)
            XCTAssertEqual(Set(t.placeholders), Set(values[kind]!.keys), kind.rawValue)
            XCTAssertFalse(try t.render(values[kind]!).contains("{{"), kind.rawValue)
        }
        let solution = try PromptTemplate.load(.solution)
        let hostile = "What is {{problem}} plus {{solution}}?"
        let text = try solution.render(["problem": hostile])
        XCTAssertTrue(text.contains(hostile), "a value's braces are copied verbatim, not expanded")
        let bci = try PromptTemplate.load(.bci).render(["behaviors": PromptTemplate.behaviorLines([
            Behavior(name: "behavior_isolate", instruction: "Move terms to isolate the unknown.", createdBy: "s")])])
        XCTAssertTrue(bci.contains("behavior_isolate: Move terms to isolate the unknown."))
        XCTAssertTrue(bci.replacingOccurrences(of: "\n", with: " ").contains("cite it by its name"))
    }

    func testErrorsAndOverrides() throws {
        let t = PromptTemplate(name: "t", text: "A {{x}} B {{y")
        XCTAssertThrowsError(try t.render(["x": "1"])) { XCTAssertEqual($0 as? PromptTemplate.Error, .unterminated(template: "t")) }
        let u = PromptTemplate(name: "u", text: "A {{x}}")
        XCTAssertThrowsError(try u.render([:])) { XCTAssertEqual($0 as? PromptTemplate.Error, .missingValue(template: "u", placeholder: "x")) }
        XCTAssertThrowsError(try u.render(["x": "1", "y": "2"])) { XCTAssertEqual($0 as? PromptTemplate.Error, .unusedValue(template: "u", key: "y")) }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "Custom: {{problem}}".write(to: dir.appendingPathComponent("solution.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try PromptTemplate.load(.solution, overrides: dir).render(["problem": "P"]), "Custom: P")
        XCTAssertTrue(try PromptTemplate.load(.critique, overrides: dir).text.contains("Critique"), "files not overridden come from data/prompts")
    }
}
