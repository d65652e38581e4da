import Foundation
import FuzzTargets
import TestSupport
import XCTest

/// Every file of every fuzz corpus (Tests/Fuzz/Corpus/TARGET: the seeds, and each input a
/// fuzzer ever crashed on, added there when fixed) through its reader: none may trap, and none
/// may take long. This is how `make fuzz`'s findings stay tested without libFuzzer.
final class FuzzCorpusTests: XCTestCase {
    func testEveryCorpusFileRunsCleanly() throws {
        let root = repoRoot.appendingPathComponent("Tests/Fuzz/Corpus")
        var ran = 0
        for target in FuzzTargets.all.keys.sorted() {
            let dir = root.appendingPathComponent(target)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            XCTAssertFalse(files.isEmpty, "the \(target) corpus has seeds")
            for name in files {
                let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
                let started = Date()
                FuzzTargets.all[target]!(bytes)
                XCTAssertLessThan(Date().timeIntervalSince(started), 5, "\(target)/\(name) is slow")
                ran += 1
            }
        }
        XCTAssertGreaterThan(ran, 30)
    }
}
