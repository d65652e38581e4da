import Foundation
import Recipes
import TestSupport
import XCTest

/// `bcsft run` never replaces a folder it did not write, and a recipe file cannot drive the
/// reader into the ground (deep nesting, an alias bomb, a folder or a device given as a recipe).
final class RecipeHardeningTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testAStageFolderBcsftDidNotWriteIsRefusedNotEmptied() throws {
        let recipe = dir.appendingPathComponent("r.yaml")
        try "stages:\n  notes:\n    kind: shell\n    settings:\n      command: echo hi > ${out}/x.txt\n".write(to: recipe, atomically: true, encoding: .utf8)
        let work = dir.appendingPathComponent("work")
        let mine = work.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try "my notes".write(to: mine.appendingPathComponent("todo.txt"), atomically: true, encoding: .utf8)
        let exe = try bcsftExecutable()
        for extra in [["--dry-run"], []] {
            let r = try runProcess(exe, ["run", recipe.path, "--workdir", work.path] + extra)
            XCTAssertNotEqual(r.0, 0, "\(extra)")
            XCTAssertTrue(r.2.contains("\(mine.path): exists but bcsft did not write it"), r.2)
        }
        XCTAssertEqual(try String(contentsOf: mine.appendingPathComponent("todo.txt"), encoding: .utf8), "my notes")
        // Moved away, the stage runs; a rerun replaces what the runner itself wrote.
        try FileManager.default.moveItem(at: mine, to: dir.appendingPathComponent("kept"))
        XCTAssertEqual(try runProcess(exe, ["run", recipe.path, "--workdir", work.path]).0, 0)
        XCTAssertEqual(try runProcess(exe, ["run", recipe.path, "--workdir", work.path, "--from", "notes"]).0, 0)
    }

    func testDeepNestingAndAliasBombsAreErrorsNotCrashes() throws {
        let deep = "stages: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n"
        XCTAssertThrowsError(try Recipe.parse(yaml: deep, source: "deep.yaml")) { error in
            XCTAssertEqual(error.localizedDescription, "deep.yaml:1: nested deeper than 64 levels")
        }
        var bomb = "vars:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for (n, p) in zip("bcdefghi", "abcdefgh") { bomb += "  \(n): &\(n) [" + Array(repeating: "*\(p)", count: 9).joined(separator: ", ") + "]\n" }
        bomb += "stages: {x: {kind: shell, settings: {command: \"true\"}}}\n"
        let started = Date()
        XCTAssertThrowsError(try Recipe.parse(yaml: bomb, source: "bomb.yaml")) { error in
            XCTAssertTrue(error.localizedDescription.contains("expands to more than 1000000 values"), error.localizedDescription)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        let blocky = (0..<600).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n"
        XCTAssertThrowsError(try Recipe.parse(yaml: blocky, source: "blocky.yaml")) { error in
            XCTAssertTrue(error.localizedDescription.contains("indented more than 1000 columns"), error.localizedDescription)
        }
    }

    func testAFolderOrADeviceIsNotARecipe() throws {
        assertThrows(["is a folder, not a file"]) { _ = try Recipe.load(file: self.dir.path) }
        assertThrows(["/dev/urandom", "is not a regular file"]) { _ = try Recipe.load(file: "/dev/urandom") }
    }
}
