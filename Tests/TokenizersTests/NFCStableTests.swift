import Foundation
@testable import Tokenizers
import XCTest

/// NFCStable's ranges against Foundation's normalization, scalar by scalar.
final class NFCStableTests: XCTestCase {
    func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    func testEveryScalarInTheRangesIsStableUnderNFC() {
        // Scalars that follow the first in some scalar's canonical decomposition: the only ones
        // that can compose with what precedes them (decompositions all lie below U+30000).
        var seconds = Set<UInt32>()
        for v in UInt32(0)..<0x30000 {
            guard let s = Unicode.Scalar(v) else { continue }
            seconds.formUnion(scalars(String(s).decomposedStringWithCanonicalMapping).dropFirst())
        }
        XCTAssertTrue(seconds.contains(0x301) && seconds.contains(0x11A8), "combining acute and a Hangul final jamo compose")
        var checked = 0
        for v in UInt32(0)...0x10FFFF where NFCStable.contains(v) {
            guard let s = Unicode.Scalar(v) else { continue }
            let text = String(s)
            let nfd = scalars(text.decomposedStringWithCanonicalMapping)
            XCTAssertEqual(scalars(text.precomposedStringWithCanonicalMapping), [v], "U+\(String(v, radix: 16)) is not its own NFC")
            XCTAssertEqual(s.properties.canonicalCombiningClass, .notReordered, "U+\(String(v, radix: 16)) has a combining class")
            XCTAssertFalse(seconds.contains(v), "U+\(String(v, radix: 16)) composes with what precedes it")
            XCTAssertFalse(seconds.contains(nfd[0]), "U+\(String(v, radix: 16)) decomposes to a scalar that composes backwards")
            XCTAssertEqual(Unicode.Scalar(nfd[0])!.properties.canonicalCombiningClass, .notReordered)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30000)
    }

    func testTextsOutsideTheRangesStillNormalize() throws {
        let nfc = Normalizer.nfc
        XCTAssertEqual(scalars(nfc.apply("cafe\u{301}")), scalars("caf\u{E9}"))
        XCTAssertEqual(scalars(nfc.apply("\u{212B}ngstr\u{F6}m")), scalars("\u{C5}ngstr\u{F6}m"))
        XCTAssertEqual(scalars(nfc.apply("\u{1100}\u{1161}\u{11A8}")), [0xAC01])
        var calls: [String] = []
        let full = { (t: String) -> String in calls.append(t); return t.precomposedStringWithCanonicalMapping }
        _ = NFCStable.normalize("Plain text, 中文, 한국어, カタカナ, emoji 👍🏽 and math ≤ ≥ ×", with: full)
        XCTAssertEqual(calls, [], "stable text goes nowhere near Foundation")
        XCTAssertEqual(scalars(NFCStable.normalize("cafe\u{301} ok 1\u{FE0F}\u{20E3}", with: full)), scalars("caf\u{E9} ok 1\u{FE0F}\u{20E3}"))
        XCTAssertEqual(calls.map(scalars), [scalars("e\u{301}"), scalars("\u{FE0F}\u{20E3}")], "each unstable run with the scalar before it")
    }

    /// Piecewise NFC equals Foundation's on the whole text, on random mixes of stable scalars
    /// and ones that compose, reorder or decompose.
    func testPiecewiseEqualsWholeText() {
        let pool: [String] = ["a", "e", "A", "o", " ", "1", "中", "\u{AC00}", "ア", "😀", "\n", "\u{0301}", "\u{0308}", "\u{0327}",
                              "\u{0323}", "\u{0345}", "\u{1100}", "\u{1161}", "\u{11A8}", "\u{212B}", "\u{2126}", "\u{0B47}",
                              "\u{0B3E}", "\u{0344}", "\u{FB01}", "\u{20E3}", "\u{3099}", "\u{0F73}", "\u{0958}", "\u{1E9B}"]
        var rng = SystemRandomNumberGenerator()
        var pieces = 0
        for _ in 0..<20000 {
            let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pool.randomElement(using: &rng)! }.joined()
            let got = NFCStable.normalize(text) { pieces += 1; return $0.precomposedStringWithCanonicalMapping }
            XCTAssertEqual(scalars(got), scalars(text.precomposedStringWithCanonicalMapping), text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " "))
        }
        XCTAssertGreaterThan(pieces, 0)
    }
}
